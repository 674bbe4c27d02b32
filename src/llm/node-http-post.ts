import type * as NodeHttp from 'node:http';
import type * as NodeHttps from 'node:https';
import type * as NodeStream from 'node:stream';
import type * as NodeZlib from 'node:zlib';
import { NodeBodyReader } from './node-body-reader.js';
import type {
  HeaderReader,
  ProviderBody,
  ProviderBodyReader,
  ProviderPost,
  ProviderPostInit,
  ProviderResponse,
} from './provider-response.js';

type ClientRequest = NodeHttp.ClientRequest;
type IncomingMessage = NodeHttp.IncomingMessage;
type Readable = NodeStream.Readable;

/** What the transport takes from the built-ins, looked up at run time (see {@link nodeModules}). */
interface NodeModules {
  httpRequest: typeof NodeHttp.request;
  httpsRequest: typeof NodeHttps.request;
  pipeline: typeof NodeStream.pipeline;
  zlib: Pick<typeof NodeZlib, 'createGunzip' | 'createInflate' | 'createBrotliDecompress'>;
}

let modules: NodeModules | null | undefined;

/**
 * The built-ins, or `null` where the runtime has none (an edge runtime). Looked up rather than
 * imported: the core must load where `node:http` does not exist, and there provider calls go
 * over `fetch`. `process.getBuiltinModule` is in Node 20.16+, 22.3+, Bun and Deno.
 */
function nodeModules(): NodeModules | null {
  if (modules === undefined) modules = lookUpModules();
  return modules;
}

function lookUpModules(): NodeModules | null {
  const lookup = typeof process === 'object' ? process.getBuiltinModule : undefined;
  if (typeof lookup !== 'function') return null;
  const http = lookup('node:http') as typeof NodeHttp | undefined;
  const https = lookup('node:https') as typeof NodeHttps | undefined;
  const stream = lookup('node:stream') as { pipeline: typeof NodeStream.pipeline } | undefined;
  const zlib = lookup('node:zlib') as typeof NodeZlib | undefined;
  if (!http || !https || !stream || !zlib) return null;
  return { httpRequest: http.request, httpsRequest: https.request, pipeline: stream.pipeline, zlib };
}

/**
 * The node:http transport where the runtime has `node:http`, else `undefined` (the caller uses
 * `fetch`).
 * @internal
 */
export function nodeHttpPost(): ProviderPost | undefined {
  return nodeModules() ? postWithNodeHttp : undefined;
}

/**
 * Headers every provider request gets unless the provider set its own. `identity`: a stream of
 * small events gains nothing from compression, and the answer is read as it comes.
 */
const DEFAULT_HEADERS = { 'accept-encoding': 'identity', 'user-agent': 'mcp-llmchat' } as const;

// Schemes are case-insensitive; anything but https goes to node:http, which refuses what it cannot send.
const HTTPS_URL = /^https:/i;

/**
 * Sends one provider POST over `node:http` or `node:https` (their global agents, which keep
 * connections alive) and resolves once the answer's headers are in.
 *
 * This is the default transport: undici's `fetch` wraps the same socket in a request, a fetch
 * controller, three web streams and two abort signals, which cost 0.1–0.2 ms before a call's first
 * byte and about 20 KB for as long as an answer streams. What fetch does that matters here is
 * kept: a redirect is answered, never followed (the caller refuses it); an answer compressed
 * although `identity` was asked for is still decoded; the signal aborts the request at any point.
 * @internal
 */
function postWithNodeHttp(url: string, init: ProviderPostInit): Promise<ProviderResponse> {
  const { httpRequest, httpsRequest } = nodeModules() as NodeModules;
  return new Promise((resolve, reject) => {
    let request: ClientRequest;
    try {
      const send = HTTPS_URL.test(url) ? httpsRequest : httpRequest;
      request = send(url, {
        method: 'POST',
        headers: {
          ...DEFAULT_HEADERS,
          ...init.headers,
          'content-length': String(Buffer.byteLength(init.body)),
        },
        signal: init.signal,
      });
    } catch (error) {
      // A URL or header value node:http refuses (the message names the header, never its value).
      reject(error);
      return;
    }
    // Heard for the request's whole life: an error no one listens to would crash the process. Once
    // the answer came, the body's reader hears what follows from the response itself.
    request.on('error', reject);
    request.on('response', (response: IncomingMessage) => {
      resolve(new NodeProviderResponse(request, response));
    });
    request.end(init.body);
  });
}

/** A node:http answer seen as a {@link ProviderResponse}. */
class NodeProviderResponse implements ProviderResponse {
  readonly status: number;
  readonly ok: boolean;
  readonly headers: HeaderReader;
  readonly body: ProviderBody;

  constructor(request: ClientRequest, response: IncomingMessage) {
    this.status = response.statusCode ?? 0;
    this.ok = this.status >= 200 && this.status < 300;
    this.headers = new IncomingHeaders(response);
    this.body = new NodeBody(request, response);
  }
}

/** Reads an `IncomingMessage`'s headers, already lower-cased by Node. */
class IncomingHeaders implements HeaderReader {
  readonly #response: IncomingMessage;

  constructor(response: IncomingMessage) {
    this.#response = response;
  }

  get(name: string): string | null {
    const value = this.#response.headers[name.toLowerCase()];
    if (value === undefined) return null;
    return Array.isArray(value) ? value.join(', ') : value;
  }
}

/** The answer's body; its one reader is made on demand, and until then the body waits in the socket. */
class NodeBody implements ProviderBody {
  readonly #request: ClientRequest;
  readonly #response: IncomingMessage;
  #reader: ProviderBodyReader | undefined;

  constructor(request: ClientRequest, response: IncomingMessage) {
    this.#request = request;
    this.#response = response;
    // Until a reader listens (and after): an error no one hears would crash the process. The
    // reader finds an earlier failure on the stream itself.
    response.on('error', ignore);
  }

  getReader(): ProviderBodyReader {
    if (this.#reader) throw new TypeError('The provider response body is already being read.');
    const response = this.#response;
    const source = response.destroyed ? response : decodedSource(response);
    this.#reader = new NodeBodyReader(source, () => this.#request.destroy());
    return this.#reader;
  }
}

/**
 * The body's bytes as the provider meant them: the response itself, or a decompressor behind it
 * when the provider compressed although `identity` was asked for.
 */
function decodedSource(response: IncomingMessage): Readable {
  const encoding = response.headers['content-encoding']?.trim().toLowerCase();
  const { pipeline, zlib } = nodeModules() as NodeModules;
  const decompress =
    encoding === 'gzip' || encoding === 'x-gzip'
      ? zlib.createGunzip
      : encoding === 'deflate'
        ? zlib.createInflate
        : encoding === 'br'
          ? zlib.createBrotliDecompress
          : undefined;
  if (decompress === undefined) return response;
  // The pipeline carries a failure of either side to the decompressor, which the reader hears.
  return pipeline(response, decompress(), ignore);
}

function ignore(): void {}
