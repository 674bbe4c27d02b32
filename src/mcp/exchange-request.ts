import type { HeaderReader, ProviderBody } from '../llm/provider-response.js';
import { requestWithUndici } from '../llm/undici-post.js';

/**
 * The parts of an HTTP answer the MCP exchanges read: a web `Response` has them, and so does the
 * answer of the undici transport, which skips the web streams a `fetch` body is made of.
 * @internal
 */
export interface ExchangeAnswer {
  readonly status: number;
  readonly statusText: string;
  readonly ok: boolean;
  readonly headers: HeaderReader & { forEach(callback: (value: string, name: string) => void): void };
  readonly body: ProviderBody | null;
}

/**
 * Sends one request of an MCP exchange and resolves once the answer's headers are in; rejects
 * when no answer came (refused, reset, aborted by `init.signal`). A host's `fetch` is one: its
 * `Response` is an answer.
 * @internal
 */
export type ExchangeRequest = (url: URL, init: RequestInit) => Promise<ExchangeAnswer>;

/** Drops an answer's body unread (its connection is let go); never rejects. @internal */
export async function discardBody(body: ProviderBody | null): Promise<void> {
  await body
    ?.getReader()
    .cancel()
    .catch(() => undefined);
}

/**
 * The default: the undici transport provider calls use (`requestWithUndici`), without fetch's
 * `Request`, `Response`, body stream and abort signals a request. An MCP connection makes a few
 * requests a connect and one a tool call, and fetch's layer was about a fifth of a connect's CPU.
 * It fails the way `fetch` with `redirect: 'error'` fails, so callers tell the cases apart as
 * before: a redirect, a status outside 200–599 and any network error reject with
 * `TypeError('fetch failed')` and the cause (the SDK would otherwise follow a same-origin
 * redirect itself). It runs on the library's own connection pool, not the process's global
 * dispatcher: a host whose MCP traffic needs a proxy passes its `fetch`. A body other than a
 * string (the SDK sends JSON text) goes over the global fetch, with redirects refused.
 * @internal
 */
export const requestOverUndici: ExchangeRequest = (url, init) => {
  const { body } = init;
  const signal = init.signal ?? new AbortController().signal;
  if (body !== undefined && body !== null && typeof body !== 'string') {
    return globalThis.fetch(url, { ...init, redirect: 'error' });
  }
  return requestWithUndici(init.method ?? 'GET', url, {
    headers: headerRecord(init.headers),
    ...(typeof body === 'string' ? { body } : {}),
    signal,
    // A body let go of is cut at once, as fetch cuts it: a hostile server's endless answer must
    // not keep pouring in after its limit.
    drainMs: 0,
  }).then(checkedAnswer, (error: unknown) => {
    // An abort stays the abort it is; anything else is a network error, as fetch reports it.
    throw signal.aborted ? error : fetchFailed(error);
  });
};

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
// A reason phrase as HTTP allows it (tab, visible ASCII, obs-text); a web Response refuses others.
const REASON_PHRASE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** The answer, unless fetch with `redirect: 'error'` would have failed instead. */
async function checkedAnswer(answer: ExchangeAnswer): Promise<ExchangeAnswer> {
  const refused = REDIRECT_STATUSES.has(answer.status) && answer.headers.get('location') !== null;
  if (refused || answer.status < 200 || answer.status > 599) {
    await discardBody(answer.body);
    throw fetchFailed(new Error(refused ? 'unexpected redirect' : `invalid HTTP status ${answer.status}`));
  }
  if (REASON_PHRASE.test(answer.statusText)) return answer;
  const { status, ok, headers, body } = answer;
  return { status, ok, statusText: '', headers, body };
}

function fetchFailed(cause: unknown): TypeError {
  return new TypeError('fetch failed', { cause });
}

/** Request headers in any of the forms `fetch` takes, as one record (repeated names joined). */
function headerRecord(init: HeadersInit | undefined): Record<string, string> {
  const record: Record<string, string> = {};
  if (init === undefined) return record;
  const add = (value: string, name: string) => {
    const key = name.toLowerCase();
    record[key] = key in record ? `${record[key]}, ${value}` : value;
  };
  if (init instanceof Headers) init.forEach(add);
  else if (Array.isArray(init)) for (const [name, value] of init) add(String(value), String(name));
  else for (const [name, value] of Object.entries(init)) add(String(value), name);
  return record;
}
