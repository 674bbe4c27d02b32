/**
 * A held lease on one lock key, returned by {@link LockManager.acquire}. The token is random per
 * acquisition, so only this holder can extend or release it.
 */
export interface HeldLock {
  /** The lock key, as given to the manager. */
  readonly key: string;
  /** This acquisition's random token. */
  readonly token: string;
  /**
   * Frees the lock. Resolves `false`, never throws, when the lease was already lost (expired or
   * taken by someone else) or released; rejects with `BACKEND_UNAVAILABLE` when the backend fails.
   */
  release(): Promise<boolean>;
  /**
   * Renews the lease for `ttlMs` (default: the TTL it was acquired with). Resolves `false` when
   * the lease was already lost; rejects with `BACKEND_UNAVAILABLE` when the backend fails.
   */
  extend(ttlMs?: number): Promise<boolean>;
}
