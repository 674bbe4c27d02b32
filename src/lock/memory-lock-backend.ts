import type { LockBackend } from './lock-backend.js';

interface Lease {
  token: string;
  expiresAt: number;
}

// Expired leases are normally replaced on the next acquire of the same key; prune the map when
// it grows, so keys that are never locked again do not accumulate.
const PRUNE_ABOVE = 1000;

/**
 * An in-process {@link LockBackend}: serializes work within one process (tests, single-node
 * servers). Leases expire by time exactly like the Redis backend's, and it needs no timers.
 *
 * @example
 * const locks = new LockManager(new MemoryLockBackend());
 */
export class MemoryLockBackend implements LockBackend {
  readonly #leases = new Map<string, Lease>();

  async tryAcquire(key: string, token: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    if (this.#leases.size > PRUNE_ABOVE) this.#prune(now);
    const lease = this.#leases.get(key);
    if (lease !== undefined && lease.expiresAt > now) return false;
    this.#leases.set(key, { token, expiresAt: now + ttlMs });
    return true;
  }

  async extend(key: string, token: string, ttlMs: number): Promise<boolean> {
    const lease = this.#held(key, token);
    if (lease === undefined) return false;
    lease.expiresAt = Date.now() + ttlMs;
    return true;
  }

  async release(key: string, token: string): Promise<boolean> {
    if (this.#held(key, token) === undefined) return false;
    this.#leases.delete(key);
    return true;
  }

  #held(key: string, token: string): Lease | undefined {
    const lease = this.#leases.get(key);
    return lease !== undefined && lease.token === token && lease.expiresAt > Date.now() ? lease : undefined;
  }

  #prune(now: number): void {
    for (const [key, lease] of this.#leases) {
      if (lease.expiresAt <= now) this.#leases.delete(key);
    }
  }
}
