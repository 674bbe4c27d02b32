import type { RateLimiterAbstract, RateLimiterRes } from 'rate-limiter-flexible';
import { LlmChatError, wrapError } from '../errors.js';
import type { RateWindowBackend, RateWindowResult } from './rate-window-backend.js';

/** Builds one rate-limiter-flexible limiter for a limit and window (in seconds). @internal */
export type LimiterFactory = (points: number, durationSeconds: number) => Promise<RateLimiterAbstract>;

/**
 * A {@link RateWindowBackend} over rate-limiter-flexible limiters, one per (limit, window),
 * made on first use. Over the limit, rate-limiter-flexible rejects with a `RateLimiterRes`
 * (not an `Error`); a store failure rejects with an `Error`, which becomes `BACKEND_UNAVAILABLE`.
 * @internal
 */
export class FlexibleRateWindow implements RateWindowBackend {
  readonly #create: LimiterFactory;
  readonly #limiters = new Map<string, Promise<RateLimiterAbstract>>();

  constructor(create: LimiterFactory) {
    this.#create = create;
  }

  async consume(key: string, limit: number, windowMs: number): Promise<RateWindowResult> {
    if (!Number.isInteger(limit) || limit < 1)
      throw new LlmChatError('CONFIG_INVALID', 'A request limit must be a whole number of at least 1.');
    if (!Number.isInteger(windowMs / 1000) || windowMs < 1000) {
      throw new LlmChatError('CONFIG_INVALID', 'A request window must be whole seconds (windowMs a multiple of 1000).');
    }
    const id = `${limit}:${windowMs}`;
    let limiter = this.#limiters.get(id);
    if (!limiter) {
      limiter = this.#create(limit, windowMs / 1000);
      this.#limiters.set(id, limiter);
    }
    try {
      const result = await (await limiter).consume(key, 1);
      return { allowed: true, remaining: result.remainingPoints, resetMs: result.msBeforeNext };
    } catch (error) {
      if (isLimiterResult(error)) return { allowed: false, remaining: 0, resetMs: error.msBeforeNext };
      throw wrapError(error, 'BACKEND_UNAVAILABLE', 'The storage backend is unavailable.');
    }
  }
}

function isLimiterResult(value: unknown): value is RateLimiterRes {
  return typeof value === 'object' && value !== null && !(value instanceof Error) && 'msBeforeNext' in value;
}
