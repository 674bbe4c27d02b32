/**
 * Where {@link LockManager} keeps its leases: one key per lock holding the holder's random token,
 * with a millisecond TTL so a crashed holder's lock frees itself. Retry, waiting, jitter and
 * auto-extension live in `LockManager`, once, not in each backend.
 *
 * All methods but `forget` are required. Each rejects with an `LlmChatError` of code `BACKEND_UNAVAILABLE`
 * when the store cannot be reached (other rejections are wrapped by the manager); contention is
 * never an error, it is `false`.
 */
export interface LockBackend {
  /** Takes the lock when nobody holds it. Resolves `true` when `token` now holds it for `ttlMs`. */
  tryAcquire(key: string, token: string, ttlMs: number): Promise<boolean>;
  /** Sets a new TTL only while `token` still holds the lock; `false` when the lease was lost. */
  extend(key: string, token: string, ttlMs: number): Promise<boolean>;
  /** Frees the lock only while `token` still holds it; `false` (never a throw) when it was lost. */
  release(key: string, token: string): Promise<boolean>;
  /**
   * Optional: the lock was freed by another step of the same storage (a turn's last event write):
   * drop whatever this backend keeps about that lease. Never touches the store.
   */
  forget?(key: string, token: string): void;
}
