import { unrefTimer } from '../internal/unref-timer.js';
import type { CounterAddition, UsageBackend } from './usage-backend.js';

interface Counters {
  fields: Map<string, number>;
  expiresAt: number;
}

/**
 * An in-process {@link UsageBackend}: counters of one process, lost on restart. Expired hashes
 * are dropped on read and in a periodic sweep (its timer is `unref()`ed).
 *
 * @example
 * const usage = new MemoryUsageBackend();
 */
export class MemoryUsageBackend implements UsageBackend {
  readonly #hashes = new Map<string, Counters>();
  readonly #sweepTimer: ReturnType<typeof setInterval>;

  constructor(options: { sweepIntervalMs?: number } = {}) {
    this.#sweepTimer = setInterval(() => this.#sweep(), options.sweepIntervalMs ?? 60_000);
    unrefTimer(this.#sweepTimer);
  }

  async add(additions: readonly CounterAddition[]): Promise<void> {
    const now = Date.now();
    for (const { key, fields, ttlMs } of additions) {
      let counters = this.#hashes.get(key);
      if (!counters || counters.expiresAt <= now) {
        counters = { fields: new Map(), expiresAt: 0 };
        this.#hashes.set(key, counters);
      }
      counters.expiresAt = now + ttlMs;
      for (const [field, amount] of Object.entries(fields)) {
        counters.fields.set(field, (counters.fields.get(field) ?? 0) + Math.trunc(amount));
      }
    }
  }

  async read(keys: readonly string[]): Promise<Record<string, number>[]> {
    const now = Date.now();
    return keys.map((key) => {
      const counters = this.#hashes.get(key);
      if (!counters || counters.expiresAt <= now) return {};
      return Object.fromEntries(counters.fields);
    });
  }

  /** Stops the sweep timer. */
  async close(): Promise<void> {
    clearInterval(this.#sweepTimer);
  }

  #sweep(): void {
    const now = Date.now();
    for (const [key, counters] of this.#hashes) if (counters.expiresAt <= now) this.#hashes.delete(key);
  }
}
