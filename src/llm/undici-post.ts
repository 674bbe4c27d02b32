import type { Duplex } from 'node:stream';
import type * as NodeZlib from 'node:zlib';
import type * as Undici from 'undici';
import { type AbortSource, abortSignalOf } from '../internal/lazy-abort.js';
import { type AnswerDecoder, DispatchedAnswer } from './dispatched-answer.js';
import type { ProviderPostInit, ProviderResponse } from './provider-response.js';

/** What the transport runs on, loaded on the first provider call. */
interface Transport {
  agent: Undici.Agent;
  decode: AnswerDecoder;
}

/**
 * Headers every provider request gets unless the provider set its own. `identity`: a stream of
 * small events gains nothing from compression, and the answer is read as it comes.
 */
const DEFAULT_HEADERS = { 'accept-encoding': 'identity', 'user-agent': 'mcp-llmchat' } as const;

// Where undici cannot load (an edge runtime): the global fetch, looked up at each call, with
// redirects refused as the transport refuses them.
function requestWithGlobalFetch(method: string, url: string | URL, init: UndiciRequestInit): Promise<Response> {
  const { headers, body } = init;
  return globalThis.fetch(url, {
    method,
    redirect: 'error',
    window: null,
    headers,
    signal: abortSignalOf(init.signal),
    ...(body === undefined ? {} : { body }),
  });
}

let transport: Transport | null | undefined;
let loading: Promise<Transport | null> | undefined;

/**
 * Loads undici and the built-ins the transport needs, once. Imported rather than at the top: the
 * core must load where `node:net` does not exist, and there calls go over the global `fetch`.
 */
function loadTransport(): Promise<Transport | null> {
  loading ??= Promise.all([importUndiciAgent(), import('node:zlib')])
    .then(([Agent, zlib]): Transport | null => {
      if (typeof Agent !== 'function') return null;
      // A pool of our own: undici's global dispatcher, when none was set, would be created and
      // set for the whole process (the built-in fetch reads it too). No timeouts of its own: the
      // provider options' first-chunk and total timeouts decide, even past undici's 300 s.
      const agent = new Agent({ headersTimeout: 0, bodyTimeout: 0 });
      return { agent, decode: (headers) => decoderFor(zlib, headers) };
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
 * undici's `Agent` from its own module, which loads the HTTP clients and the pool it needs and
 * nothing else. The package's index also loads fetch, WebSocket, EventSource, the cache and the
 * mocks: on Node 20, importing it and making an agent grew the heap by 4.8 MB, the agent's module
 * alone by 1.7 MB, in every process that calls a provider. undici declares no `exports`, so the
 * file is importable; should a later undici hide it, the index is imported instead.
 * @internal
 */
export async function importUndiciAgent(): Promise<typeof Undici.Agent> {
  try {
    const module = (await import('undici/lib/dispatcher/agent.js')) as { default?: unknown };
    if (typeof module.default === 'function') return module.default as typeof Undici.Agent;
  } catch {
    // Not there (or not loadable): the index has the same class.
  }
  return (await import('undici')).Agent;
}

/**
 * The default transport of provider calls: undici's dispatcher (the one under Node's `fetch`)
 * with a handler of our own, {@link DispatchedAnswer}, without fetch's layer (a `Request`, a
 * `Response`, a fetch controller, three web streams and two abort signals a call) or the body
 * stream of undici's `request`. It frees the socket as soon as the body's last bytes are parsed.
 * What fetch did that matters is kept: a redirect is answered, not followed (the caller refuses
 * it); an answer compressed although `identity` was asked for is still decoded; the signal aborts
 * the request at any point. Where undici cannot load, the call goes over the global fetch.
 * @internal
 */
export function postWithUndici(url: string, init: ProviderPostInit): Promise<ProviderResponse> {
  // The provider's init is a request init as it is: no copy on a provider call's path.
  return requestWithUndici('POST', url, init);
}

/** One request over the undici transport: headers and body as sent (plus defaults), and its abort (a signal or a `LazyAbort`). @internal */
export interface UndiciRequestInit {
  headers: Record<string, string>;
  body?: string;
  signal: AbortSource;
  /**
   * How long a body its reader let go of may drain unread, so that its socket is kept, before the
   * request is cut; 0 cuts it at once. @default 200 (`DRAIN_GRACE_MS`)
   */
  drainMs?: number;
}

/**
 * Any request over the transport of {@link postWithUndici} (the MCP exchanges send theirs on it
 * too), with the same guarantees: a redirect is answered, not followed.
 * @internal
 */
export function requestWithUndici(
  method: string,
  url: string | URL,
  init: UndiciRequestInit,
): Promise<DispatchedAnswer | Response> {
  if (transport) return send(transport, method, url, init);
  if (transport === null) return requestWithGlobalFetch(method, url, init);
  return loadTransport().then(
    (loaded): Promise<DispatchedAnswer | Response> =>
      loaded ? send(loaded, method, url, init) : requestWithGlobalFetch(method, url, init),
  );
}

function send(using: Transport, method: string, url: string | URL, init: UndiciRequestInit): Promise<DispatchedAnswer> {
  const answer = new DispatchedAnswer(init.signal, using.decode, init.drainMs);
  try {
    const { origin, path } =
      typeof url === 'string' ? targetOf(url) : { origin: url.origin, path: url.pathname + url.search };
    const headers = withDefaults(init.headers);
    const body = init.body === undefined ? null : undiciBody(init.body, headers);
    // A request undici refuses (a header value with a line break) comes back through the handler.
    // Its documentation takes an iterable body; its type declarations leave iterables out.
    const dispatched = body as unknown as Undici.Dispatcher.DispatchOptions['body'];
    using.agent.dispatch({ origin, path, method, headers, body: dispatched }, answer);
  } catch (error) {
    answer.onResponseError(undefined, error as Error);
  }
  return answer.answered;
}

// The last URL split: a process calls one provider URL (or a few) over and over, and parsing it
// again each time cost more than the rest of a call's setup.
let lastTarget: { url: string; origin: string; path: string } | undefined;

/** The origin and the path with its query that undici's dispatcher takes, for `url`. */
function targetOf(url: string): { origin: string; path: string } {
  if (lastTarget?.url === url) return lastTarget;
  const { origin, pathname, search } = new URL(url);
  lastTarget = { url, origin, path: pathname + search };
  return lastTarget;
}

/**
 * Bodies up to this many characters go to undici as they are. undici keeps the bytes of a
 * request's body until its answer ends, and a streamed answer lasts as long as the model writes:
 * a longer body (a long conversation, many tools' schemas) goes as an iterable that lets its bytes
 * go once they are written. That costs about 20 µs more a call (undici writes an iterable body
 * asynchronously), next to what sending and reading such a prompt costs anyway.
 */
const KEPT_BODY_CHARS = 16 * 1024;

/**
 * What undici sends as the body: `body` itself when short, else its bytes as a one-shot
 * iterable, with the `content-length` that keeps it from being sent chunked (added to `headers`,
 * the request's own copy; a body whose length the provider set goes as it is).
 */
function undiciBody(body: string, headers: Record<string, string>): string | Iterable<Buffer> {
  if (body.length <= KEPT_BODY_CHARS) return body;
  for (const name of Object.keys(headers)) if (name.toLowerCase() === 'content-length') return body;
  const bytes = Buffer.from(body);
  headers['content-length'] = String(bytes.byteLength);
  return writtenOnce(bytes);
}

/** Yields `bytes` once and then forgets them, whoever still holds the iterable. */
function writtenOnce(bytes: Buffer): Iterable<Buffer> {
  let left: Buffer | undefined = bytes;
  const iterator: Iterator<Buffer> = {
    next: () => {
      const value = left;
      left = undefined;
      return value === undefined ? { done: true, value: undefined } : { done: false, value };
    },
  };
  return { [Symbol.iterator]: () => iterator };
}

/** The provider's headers, plus each default it did not set under any spelling. */
function withDefaults(headers: Record<string, string>): Record<string, string> {
  let hasEncoding = false;
  let hasAgent = false;
  for (const name of Object.keys(headers)) {
    const lower = name.toLowerCase();
    if (lower === 'accept-encoding') hasEncoding = true;
    else if (lower === 'user-agent') hasAgent = true;
  }
  // Not a spread copy: adding to one takes Node 20's slow path (see `copyWith`).
  const merged: Record<string, string> = Object.assign({}, headers);
  if (!hasEncoding) merged['accept-encoding'] = DEFAULT_HEADERS['accept-encoding'];
  if (!hasAgent) merged['user-agent'] = DEFAULT_HEADERS['user-agent'];
  return merged;
}

/**
 * A decompressor for an answer compressed although `identity` was asked for, flushed as the bytes
 * come and lenient about a cut-off end, as fetch decodes; `undefined` for an answer as it is.
 */
function decoderFor(
  zlib: Pick<typeof NodeZlib, 'createGunzip' | 'createInflate' | 'createBrotliDecompress' | 'constants'>,
  headers: Record<string, string | string[] | undefined>,
): Duplex | undefined {
  const raw = headers['content-encoding'];
  const encoding = (Array.isArray(raw) ? raw.join(',') : raw)?.trim().toLowerCase();
  const flush = { flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH };
  if (encoding === 'gzip' || encoding === 'x-gzip') return zlib.createGunzip(flush);
  if (encoding === 'deflate') return zlib.createInflate(flush);
  if (encoding === 'br') {
    const flag = zlib.constants.BROTLI_OPERATION_FLUSH;
    return zlib.createBrotliDecompress({ flush: flag, finishFlush: flag });
  }
  return undefined;
}
