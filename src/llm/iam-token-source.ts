import { LlmChatError } from '../errors.js';
import { raceSignal } from '../internal/race-signal.js';
import type { FetchLike } from '../types.js';
import { markRetryable } from './provider-retry.js';

/** Options of {@link IamTokenSource}. */
export interface IamTokenSourceOptions {
  /** The IBM Cloud API key. A secret: never in an error or a log. */
  apiKey: string;
  /** The IAM origin; `/identity/token` is appended. @default 'https://iam.cloud.ibm.com' */
  iamUrl?: string;
  /** @default globalThis.fetch */
  fetch?: FetchLike;
  /** The clock, in epoch milliseconds. @default Date.now */
  now?: () => number;
  /** Time allowed for one exchange. @default 30000 */
  timeoutMs?: number;
}

interface CachedToken {
  value: string;
  /** Epoch ms after which the token is exchanged again. */
  refreshAt: number;
}

const DEFAULT_IAM_URL = 'https://iam.cloud.ibm.com';
const GRANT_TYPE = 'urn:ibm:params:oauth:grant-type:apikey';
/** Refresh this long before expiry, so a token never expires during a long streamed call. */
const REFRESH_MARGIN_MS = 5 * 60_000;
const LABEL = 'IBM Cloud IAM';

/**
 * Bearer tokens for IBM Cloud APIs (watsonx), exchanged from an API key at the IAM token
 * endpoint. A token is reused until five minutes before it expires (or half its lifetime, when
 * that is shorter), and concurrent callers share one exchange: a burst of turns costs one IAM
 * call, not one each.
 *
 * An exchange is not tied to the caller that started it, so one caller giving up does not fail
 * the others waiting on it; each caller stops waiting when its own signal aborts.
 *
 * @example
 * const tokens = new IamTokenSource({ apiKey });
 * const headers = { authorization: `Bearer ${await tokens.token()}` };
 */
export class IamTokenSource {
  readonly #options: IamTokenSourceOptions;
  readonly #url: string;
  #cached: CachedToken | undefined;
  #pending: Promise<CachedToken> | undefined;

  constructor(options: IamTokenSourceOptions) {
    this.#options = options;
    this.#url = `${(options.iamUrl ?? DEFAULT_IAM_URL).replace(/\/+$/, '')}/identity/token`;
  }

  /**
   * A valid bearer token, from the cache or a fresh exchange.
   * @throws LlmChatError `PROVIDER_AUTH` when IAM refuses the key; `PROVIDER_ERROR` (retryable)
   * when IAM fails or is unreachable; the caller's abort reason when `signal` aborts.
   */
  async token(signal?: AbortSignal): Promise<string> {
    const now = (this.#options.now ?? Date.now)();
    if (this.#cached && now < this.#cached.refreshAt) return this.#cached.value;
    if (!this.#pending) {
      const pending = this.#exchange().finally(() => {
        if (this.#pending === pending) this.#pending = undefined;
      });
      this.#pending = pending;
    }
    const fresh = await raceSignal(this.#pending, signal);
    return fresh.value;
  }

  /**
   * Forgets the cached token, so the next call exchanges again: the API refused it (revoked,
   * or the key was rotated). With `token`, only when that is still the cached one, so a refusal
   * of an old token does not throw away a fresh one.
   */
  clear(token?: string): void {
    if (token === undefined || this.#cached?.value === token) this.#cached = undefined;
  }

  async #exchange(): Promise<CachedToken> {
    const fetchFn = this.#options.fetch ?? globalThis.fetch;
    const details = { provider: 'watsonx' };
    let response: Response;
    try {
      response = await fetchFn(this.#url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ grant_type: GRANT_TYPE, apikey: this.#options.apiKey }).toString(),
        signal: AbortSignal.timeout(this.#options.timeoutMs ?? 30_000),
      });
    } catch (error) {
      // The cause is a transport error: it never holds the form body.
      throw markRetryable(
        new LlmChatError('PROVIDER_ERROR', `The connection to ${LABEL} failed.`, { details, cause: error }),
      );
    }
    if (response.status === 400 || response.status === 401 || response.status === 403) {
      await response.body?.cancel().catch(() => {});
      throw new LlmChatError('PROVIDER_AUTH', `${LABEL} refused the API key (HTTP ${response.status}).`, {
        details: { ...details, status: response.status },
      });
    }
    let body: { access_token?: unknown; expires_in?: unknown; expiration?: unknown } | undefined;
    if (response.ok) body = await response.json().catch(() => undefined);
    else await response.body?.cancel().catch(() => {});
    if (!body || typeof body.access_token !== 'string' || body.access_token === '') {
      const failure = new LlmChatError('PROVIDER_ERROR', `${LABEL} did not issue a token (HTTP ${response.status}).`, {
        details: { ...details, status: response.status },
      });
      throw response.status === 429 || response.status >= 500 ? markRetryable(failure) : failure;
    }
    const now = (this.#options.now ?? Date.now)();
    const lifetimeMs = lifetimeOf(body, now);
    const token = {
      value: body.access_token,
      refreshAt: now + lifetimeMs - Math.min(REFRESH_MARGIN_MS, lifetimeMs / 2),
    };
    this.#cached = token;
    return token;
  }
}

/** The token's lifetime: `expires_in` seconds, else the `expiration` epoch seconds, else an hour. */
function lifetimeOf(body: { expires_in?: unknown; expiration?: unknown }, now: number): number {
  if (typeof body.expires_in === 'number' && body.expires_in > 0) return body.expires_in * 1000;
  if (typeof body.expiration === 'number' && body.expiration * 1000 > now) return body.expiration * 1000 - now;
  return 3_600_000;
}
