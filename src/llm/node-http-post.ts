import { type ClientRequest, request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { NodeBodyReader } from './node-body-reader.js';
import type {
  HeaderReader,
  ProviderBody,
  ProviderBodyReader,
  ProviderPostInit,
  ProviderResponse,
} from './provider-response.js';

/**
 * Headers every provider request gets unless the provider set its own. `identity`: a stream of
 * small events gains nothing from compression, and the answer is read as it comes.
 */
const DEFAULT_HEADERS = { 'accept-encoding': 'identity', 'user-agent': 'mcp-llmchat' } as const;

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
export function postWithNodeHttp(url: string, init: ProviderPostInit): Promise<ProviderResponse> {
  return new Promise((resolve, reject) => {
    let request: ClientRequest;
    try {
      const send = url.startsWith('https:') ? httpsRequest : httpRequest;
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
  const decompress =
    encoding === 'gzip' || encoding === 'x-gzip'
      ? createGunzip
      : encoding === 'deflate'
        ? createInflate
        : encoding === 'br'
          ? createBrotliDecompress
          : undefined;
  if (decompress === undefined) return response;
  // The pipeline carries a failure of either side to the decompressor, which the reader hears.
  return pipeline(response, decompress(), ignore);
}

function ignore(): void {}
