/** What {@link RateWindowBackend.consume} answers. */
export interface RateWindowResult {
  /** Whether this request fits in the window. */
  allowed: boolean;
  /** Requests left in the window after this one. */
  remaining: number;
  /** Time until the window resets, in milliseconds. */
  resetMs: number;
}

/**
 * Counts requests per key in fixed windows, shared by every process using the same store.
 * Backed by rate-limiter-flexible (its memory and Redis limiters). Rejects with
 * `BACKEND_UNAVAILABLE` when the store cannot be reached.
 */
export interface RateWindowBackend {
  /** Counts one request for `key` against `limit` per `windowMs` (whole seconds, at least 1000). */
  consume(key: string, limit: number, windowMs: number): Promise<RateWindowResult>;
}
