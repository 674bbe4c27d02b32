import { memoryCapacity } from '../internal/memory-capacity.js';
import { unrefTimer } from '../internal/unref-timer.js';
import type { Logger } from '../types.js';
import type { CounterAddition, UsageBackend } from './usage-backend.js';
import { MAX_COUNTER, toCounterAmount } from './usage-counts.js';

interface Counters {
  fields: Map<string, number>;
  expiresAt: number;
}

/** Options of {@link MemoryUsageBackend}. */
export interface MemoryUsageBackendOptions {
  /** How often expired hashes are swept out. @default 60000 */
  sweepIntervalMs?: number;
  /**
   * The most hashes kept. A user has a few (all time, each day and month kept) plus one per
   * conversation, and conversation ids are the client's to pick: without a bound, one user
   * could grow the process by naming new conversations. When full, expired hashes are swept
   * out; if none are, the hash written least recently is dropped (active users' counters are
   * written with every call, so they stay), with a `warn` log at most once a minute. A token
   * budget counts from zero for what a dropped hash held.
   * @default 100000
   */
  maxEntries?: number;
  /** Receives the warning when counters are dropped to make room. */
  logger?: Logger;
}

/**
 * An in-process {@link UsageBackend}: counters of one process, lost on restart. Expired hashes
 * are dropped on read and in a periodic sweep, whose `unref()`ed timer starts with the first
 * write (a storage whose usage is never counted runs no timer). At most `maxEntries` hashes
 * are kept (see {@link MemoryUsageBackendOptions.maxEntries}). Amounts and counters are
 * clamped as in `RedisUsageBackend` (whole numbers, saturating at `MAX_COUNTER`), so both
 * backends report the same figures.
 *
 * @example
 * const usage = new MemoryUsageBackend({ maxEntries: 50_000 });
 */
export class MemoryUsageBackend implements UsageBackend {
  // In order of last write: a write moves its hash to the end, so the first is the stalest.
  readonly #hashes = new Map<string, Counters>();
  readonly #sweepIntervalMs: number;
  readonly #maxEntries: number;
  readonly #logger: Logger | undefined;
  #sweepTimer: ReturnType<typeof setInterval> | undefined;
  #warnedAt = Number.NEGATIVE_INFINITY;
  #sweptAt = Number.NEGATIVE_INFINITY;

  constructor(options: MemoryUsageBackendOptions = {}) {
    const { maxEntries, sweepIntervalMs } = memoryCapacity(options, 100_000);
    this.#sweepIntervalMs = sweepIntervalMs;
    this.#maxEntries = maxEntries;
    this.#logger = options.logger;
  }

  /** How many hashes are held, including expired ones not yet swept. */
  get size(): number {
    return this.#hashes.size;
  }

  async add(additions: readonly CounterAddition[]): Promise<void> {
    if (this.#sweepTimer === undefined) {
      this.#sweepTimer = setInterval(() => this.#sweep(), this.#sweepIntervalMs);
      unrefTimer(this.#sweepTimer);
    }
    const now = Date.now();
    for (const { key, fields, ttlMs } of additions) {
      let counters = this.#hashes.get(key);
      if (counters !== undefined) this.#hashes.delete(key);
      if (!counters || counters.expiresAt <= now) {
        counters = { fields: new Map(), expiresAt: 0 };
        this.#makeRoom(now);
      }
      this.#hashes.set(key, counters);
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

  /** Room for one hash more: expired ones swept out first, else the stalest one dropped. */
  #makeRoom(now: number): void {
    if (this.#hashes.size < this.#maxEntries) return;
    // A sweep reads every hash: at most one a second, however fast new keys come.
    if (now - this.#sweptAt >= 1_000) this.#sweep();
    let dropped = 0;
    for (const key of this.#hashes.keys()) {
      if (this.#hashes.size < this.#maxEntries) break;
      this.#hashes.delete(key);
      dropped++;
    }
    if (dropped > 0 && now - this.#warnedAt >= 60_000) {
      this.#warnedAt = now;
      this.#logger?.warn?.('Memory usage storage is full; the counters written least recently were dropped.', {
        maxEntries: this.#maxEntries,
      });
    }
  }

  #sweep(): void {
    const now = Date.now();
    this.#sweptAt = now;
    for (const [key, counters] of this.#hashes) if (counters.expiresAt <= now) this.#hashes.delete(key);
  }
}
