import type * as NodeStream from 'node:stream';
import type * as NodeZlib from 'node:zlib';
import type * as Undici from 'undici';
import { raceSignal } from '../internal/race-signal.js';
import type { FetchLike } from '../types.js';
import { NodeBodyReader } from './node-body-reader.js';
import {
  type HeaderReader,
  type ProviderBody,
  type ProviderBodyReader,
  type ProviderPostInit,
  type ProviderResponse,
  postWithFetch,
} from './provider-response.js';

type Readable = NodeStream.Readable;
type BodyReadable = Awaited<ReturnType<typeof Undici.request>>['body'];
type ResponseHeaders = Awaited<ReturnType<typeof Undici.request>>['headers'];

/** What the transport runs on, loaded on the first provider call. */
interface Transport {
  request: typeof Undici.request;
  agent: Undici.Agent;
  pipeline: typeof NodeStream.pipeline;
  zlib: Pick<typeof NodeZlib, 'createGunzip' | 'createInflate' | 'createBrotliDecompress' | 'constants'>;
}

/**
 * Headers every provider request gets unless the provider set its own. `identity`: a stream of
 * small events gains nothing from compression, and the answer is read as it comes.
 */
const DEFAULT_HEADERS = { 'accept-encoding': 'identity', 'user-agent': 'mcp-llmchat' } as const;

/** How long a body its reader left may take to end, drained unread, before it is cut. */
const DRAIN_GRACE_MS = 200;

// Where undici cannot load (an edge runtime): the global fetch, looked up at each call.
const globalFetch: FetchLike = (input, init) => globalThis.fetch(input, init);
const postWithGlobalFetch = postWithFetch(globalFetch);

let transport: Transport | null | undefined;
let loading: Promise<Transport | null> | undefined;

/**
 * Loads undici and the built-ins the transport needs, once. Imported rather than at the top: the
 * core must load where `node:net` does not exist, and there calls go over the global `fetch`.
 */
function loadTransport(): Promise<Transport | null> {
  loading ??= Promise.all([import('undici'), import('node:stream'), import('node:zlib')])
    .then(([undici, stream, zlib]): Transport | null => {
      if (typeof undici.request !== 'function' || typeof undici.Agent !== 'function') return null;
      // A pool of our own: undici's global dispatcher, when none was set, would be created and
      // set for the whole process (the built-in fetch reads it too). No timeouts of its own: the
      // provider options' first-chunk and total timeouts decide, even past undici's 300 s.
      const agent = new undici.Agent({ headersTimeout: 0, bodyTimeout: 0 });
      return { request: undici.request, agent, pipeline: stream.pipeline, zlib };
    })
    // Anything that went wrong loading it (a runtime without node:net, a bundler's shim) means fetch.
    .catch(() => null)
    .then((loaded) => {
      transport = loaded;
      return loaded;
    });
  return loading;
}

/**
 * The default transport of provider calls: undici's `request`, the dispatcher under Node's
 * `fetch` without fetch's own layer (a `Request`, a `Response`, a fetch controller, three web
 * streams and two abort signals a call). Reading a chunked body costs it about two thirds of
 * fetch's CPU an event and two fifths of `node:http`'s (`npm run bench:transports`), and it frees
 * the socket as soon as the body's last bytes are parsed. What fetch did that matters is kept: a redirect is answered, not followed (the caller
 * refuses it); an answer compressed although `identity` was asked for is still decoded; the signal
 * aborts the request at any point. Where undici cannot load, the call goes over the global fetch.
 * @internal
 */
export function postWithUndici(url: string, init: ProviderPostInit): Promise<ProviderResponse> {
  if (transport) return send(transport, url, init);
  if (transport === null) return postWithGlobalFetch(url, init);
  return loadTransport().then((loaded) => (loaded ? send(loaded, url, init) : postWithGlobalFetch(url, init)));
}

async function send(using: Transport, url: string, init: ProviderPostInit): Promise<ProviderResponse> {
  const sent = using.request(url, {
    method: 'POST',
    headers: withDefaults(init.headers),
    body: init.body,
    signal: init.signal,
    dispatcher: using.agent,
  });
  // undici heeds the signal only once the socket is connected (nodejs/undici#386): a slow DNS
  // lookup or TLS handshake must not hold an abort or a timeout back. Lost races settle quietly.
  const { statusCode, headers, body } = await raceSignal(sent, init.signal);
  return new UndiciProviderResponse(using, statusCode, headers, body);
}

/** The provider's headers, plus each default it did not set under any spelling. */
function withDefaults(headers: Record<string, string>): Record<string, string> {
  const names = new Set(Object.keys(headers).map((name) => name.toLowerCase()));
  const merged = { ...headers };
  for (const [name, value] of Object.entries(DEFAULT_HEADERS)) if (!names.has(name)) merged[name] = value;
  return merged;
}

/** An undici answer seen as a {@link ProviderResponse}. */
class UndiciProviderResponse implements ProviderResponse {
  readonly status: number;
  readonly ok: boolean;
  readonly headers: HeaderReader;
  readonly body: ProviderBody;

  constructor(using: Transport, status: number, headers: ResponseHeaders, body: BodyReadable) {
    this.status = status;
    this.ok = status >= 200 && status < 300;
    this.headers = new ResponseHeaderReader(headers);
    this.body = new UndiciBody(using, headers, body);
  }
}

/** Reads undici's header object, whose names are lower-cased. */
class ResponseHeaderReader implements HeaderReader {
  readonly #headers: ResponseHeaders;

  constructor(headers: ResponseHeaders) {
    this.#headers = headers;
  }

  get(name: string): string | null {
    const value = this.#headers[name.toLowerCase()];
    if (value === undefined) return null;
    return Array.isArray(value) ? value.join(', ') : value;
  }
}

/** The answer's body; its one reader is made on demand, and until then the body waits. */
class UndiciBody implements ProviderBody {
  readonly #using: Transport;
  readonly #headers: ResponseHeaders;
  readonly #body: BodyReadable;
  #reader: ProviderBodyReader | undefined;

  constructor(using: Transport, headers: ResponseHeaders, body: BodyReadable) {
    this.#using = using;
    this.#headers = headers;
    this.#body = body;
    // Until a reader listens (and after): an error no one hears would crash the process. The
    // reader finds an earlier failure on the stream itself.
    body.on('error', ignore);
  }

  getReader(): ProviderBodyReader {
    if (this.#reader) throw new TypeError('The provider response body is already being read.');
    const body = this.#body;
    const source = body.destroyed ? body : this.#decoded();
    this.#reader = new NodeBodyReader(source, () => letGo(body, source));
    return this.#reader;
  }

  /**
   * The body's bytes as the provider meant them: the body itself, or a decompressor behind it
   * when the provider compressed although `identity` was asked for.
   */
  #decoded(): Readable {
    const { pipeline, zlib } = this.#using;
    const raw = this.#headers['content-encoding'];
    const encoding = (Array.isArray(raw) ? raw.join(',') : raw)?.trim().toLowerCase();
    // Flushed as the bytes come, and lenient about a cut-off end, as fetch decodes.
    const flush = { flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH };
    const brotliFlush = {
      flush: zlib.constants.BROTLI_OPERATION_FLUSH,
      finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH,
    };
    const decompressor =
      encoding === 'gzip' || encoding === 'x-gzip'
        ? zlib.createGunzip(flush)
        : encoding === 'deflate'
          ? zlib.createInflate(flush)
          : encoding === 'br'
            ? zlib.createBrotliDecompress(brotliFlush)
            : undefined;
    if (decompressor === undefined) return this.#body;
    // The pipeline carries a failure of either side to the decompressor, which the reader hears.
    return pipeline(this.#body, decompressor, ignore);
  }
}

/**
 * Frees the connection of a body its reader left before the end (the provider's last event was
 * in). The end usually follows within a round trip: the rest is drained unread, so the request
 * completes and its socket stays in the pool; a body still open after {@link DRAIN_GRACE_MS} (a
 * proxy holding it) is destroyed, which aborts the request. A decompressed body is cut at once.
 */
function letGo(body: BodyReadable, source: Readable): void {
  if (source !== body) {
    body.destroy();
    return;
  }
  if (body.readableEnded || body.destroyed) return;
  const cut = setTimeout(() => body.destroy(), DRAIN_GRACE_MS);
  cut.unref?.();
  body.once('end', () => clearTimeout(cut));
  body.once('close', () => clearTimeout(cut));
  body.resume();
}

function ignore(): void {}
