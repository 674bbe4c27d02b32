import { unrefTimer } from '../internal/unref-timer.js';
import type { CounterAddition, UsageBackend } from './usage-backend.js';
import { MAX_COUNTER, toCounterAmount } from './usage-counts.js';

interface Counters {
  fields: Map<string, number>;
  expiresAt: number;
}

/**
 * An in-process {@link UsageBackend}: counters of one process, lost on restart. Expired hashes
 * are dropped on read and in a periodic sweep, whose `unref()`ed timer starts with the first
 * write (a storage whose usage is never counted runs no timer). Amounts and counters are
 * clamped as in `RedisUsageBackend` (whole numbers, saturating at `MAX_COUNTER`), so both
 * backends report the same figures.
 *
 * @example
 * const usage = new MemoryUsageBackend();
 */
export class MemoryUsageBackend implements UsageBackend {
  readonly #hashes = new Map<string, Counters>();
  readonly #sweepIntervalMs: number;
  #sweepTimer: ReturnType<typeof setInterval> | undefined;

  constructor(
    options: { /** How often expired hashes are swept out. @default 60000 */ sweepIntervalMs?: number } = {},
  ) {
    this.#sweepIntervalMs = options.sweepIntervalMs ?? 60_000;
  }

  async add(additions: readonly CounterAddition[]): Promise<void> {
    if (this.#sweepTimer === undefined) {
      this.#sweepTimer = setInterval(() => this.#sweep(), this.#sweepIntervalMs);
      unrefTimer(this.#sweepTimer);
    }
    const now = Date.now();
    for (const { key, fields, ttlMs } of additions) {
      let counters = this.#hashes.get(key);
      if (!counters || counters.expiresAt <= now) {
        counters = { fields: new Map(), expiresAt: 0 };
        this.#hashes.set(key, counters);
      }
      counters.expiresAt = now + ttlMs;
      for (const [field, amount] of Object.entries(fields)) {
        const sum = (counters.fields.get(field) ?? 0) + toCounterAmount(amount);
        counters.fields.set(field, Math.min(MAX_COUNTER, sum));
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
    this.#sweepTimer = undefined;
  }

  #sweep(): void {
    const now = Date.now();
    for (const [key, counters] of this.#hashes) if (counters.expiresAt <= now) this.#hashes.delete(key);
  }
}
