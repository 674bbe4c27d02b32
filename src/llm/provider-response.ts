import { type AbortSource, abortSignalOf } from '../internal/lazy-abort.js';
import type { FetchLike } from '../types.js';

/** Reads a response's headers by name, case-insensitively; a web `Headers` is one. @internal */
export interface HeaderReader {
  get(name: string): string | null;
}

/** Pulls a response body one network chunk at a time; a web stream's default reader is one. @internal */
export interface ProviderBodyReader {
  /** The next chunk, or `done` once the body ended or was cancelled. Rejects when the body broke off. */
  read(): Promise<ReadableStreamReadResult<Uint8Array>>;
  /**
   * Optional: hands what comes to `take` right after each step of the source (a network read's
   * chunks joined), with no promise between, until `take` returns `false`
   * (resolves `true`) or the body is over (resolves `false`); rejects when the body broke off or
   * `take` threw. The library's own readers have it; a web stream's reader does not.
   */
  readEach?(take: (chunk: Uint8Array) => boolean): Promise<boolean>;
  /** Stops reading and frees the connection; a pending read resolves `done`. */
  cancel(reason?: unknown): Promise<void>;
  releaseLock(): void;
}

/** A response body a reader can be taken from; a web `ReadableStream` is one. @internal */
export interface ProviderBody {
  getReader(): ProviderBodyReader;
}

/**
 * The parts of a provider's HTTP answer the library reads. A web `Response` has them, and so does
 * the answer of the undici transport, which skips the web streams a `fetch` body is made of.
 * @internal
 */
export interface ProviderResponse {
  readonly status: number;
  readonly ok: boolean;
  readonly headers: HeaderReader;
  readonly body: ProviderBody | null;
}

/**
 * What one provider POST is given: the headers and JSON body exactly as sent, and its abort (a
 * `LazyAbort`; {@link postWithFetch} hands a host's `fetch` its real signal).
 * @internal
 */
export interface ProviderPostInit {
  headers: Record<string, string>;
  body: string;
  signal: AbortSource;
}

/**
 * Sends one provider POST and resolves with the answer once its headers are in. Rejects when no
 * answer came (connection refused, reset, aborted); a redirect is answered, never followed.
 * @internal
 */
export type ProviderPost = (url: string, init: ProviderPostInit) => Promise<ProviderResponse>;

/**
 * What every request sent through a host's `fetch` shares. A redirect is refused, not followed:
 * it would carry the API key to wherever the provider points (fetch drops `Authorization` across
 * origins, but not `x-api-key` or `api-key`). With redirects refused and no window, fetch also
 * sends the request as built instead of cloning it (which tees its body stream).
 */
const FETCH_REQUEST = { method: 'POST', redirect: 'error', window: null } as const satisfies RequestInit;

/**
 * A {@link ProviderPost} over a `fetch` (the host's own, when it passes one: a proxy dispatcher,
 * a mock, a runtime's fetch).
 * @internal
 */
export function postWithFetch(fetchFn: FetchLike): ProviderPost {
  return (url, init) =>
    fetchFn(url, { ...FETCH_REQUEST, headers: init.headers, body: init.body, signal: abortSignalOf(init.signal) });
}
