import { LlmChatError } from '../errors.js';
import { unrefTimer } from '../internal/unref-timer.js';
import type { AppendToListOptions, SessionBackend } from './session-backend.js';

/** Options of {@link MemorySessionBackend}. */
export interface MemorySessionBackendOptions {
  /**
   * The most keys kept. When full, expired keys go first, then the one expiring soonest (the
   * oldest on a tie), so a flood of users cannot grow the process without bound.
   * @default 10000
   */
  maxEntries?: number;
  /** How often expired keys are swept out; the timer is `unref()`ed. @default 60000 */
  sweepIntervalMs?: number;
}

interface Entry {
  value: string | string[];
  expiresAt: number;
}

/**
 * An in-process {@link SessionBackend} for tests and single-process servers. It behaves like
 * Redis: values are strings (so callers never share objects with the store), keys expire lazily
 * on read and in a periodic sweep, and the size is bounded.
 *
 * @example
 * const backend = new MemorySessionBackend({ maxEntries: 1000 });
 * const store = new SessionStore(backend);
 * // on shutdown
 * await backend.close();
 */
export class MemorySessionBackend implements SessionBackend {
  readonly #entries = new Map<string, Entry>();
  readonly #maxEntries: number;
  #sweepTimer: ReturnType<typeof setInterval> | undefined;

  constructor(options: MemorySessionBackendOptions = {}) {
    const { maxEntries = 10_000, sweepIntervalMs = 60_000 } = options;
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new LlmChatError('CONFIG_INVALID', 'maxEntries must be a positive integer.');
    }
    if (!(sweepIntervalMs > 0)) throw new LlmChatError('CONFIG_INVALID', 'sweepIntervalMs must be positive.');
    this.#maxEntries = maxEntries;
    this.#sweepTimer = setInterval(() => this.#sweep(), sweepIntervalMs);
    unrefTimer(this.#sweepTimer);
  }

  /** How many keys are held, including expired ones not yet swept. */
  get size(): number {
    return this.#entries.size;
  }

  async get(key: string): Promise<string | null> {
    const entry = this.#live(key);
    return typeof entry?.value === 'string' ? entry.value : null;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    this.#insert(key, { value: String(value), expiresAt: Date.now() + ttlMs });
  }

  async take(key: string): Promise<string | null> {
    // No await between the read and the delete: that is what makes it atomic.
    const entry = this.#live(key);
    this.#entries.delete(key);
    return typeof entry?.value === 'string' ? entry.value : null;
  }

  async delete(keys: readonly string[]): Promise<number> {
    let deleted = 0;
    for (const key of keys) {
      if (this.#live(key) !== undefined) deleted += 1;
      this.#entries.delete(key);
    }
    return deleted;
  }

  async touch(key: string, ttlMs: number): Promise<boolean> {
    const entry = this.#live(key);
    if (entry === undefined) return false;
    entry.expiresAt = Date.now() + ttlMs;
    return true;
  }

  async getList(key: string): Promise<string[]> {
    const entry = this.#live(key);
    return Array.isArray(entry?.value) ? [...entry.value] : [];
  }

  async appendToList(key: string, values: readonly string[], options: AppendToListOptions): Promise<void> {
    const now = Date.now();
    const existing = this.#live(key);
    const list = Array.isArray(existing?.value) ? existing.value : [];
    list.push(...values.map(String));
    if (options.maxLength !== undefined && list.length > options.maxLength) {
      list.splice(0, list.length - options.maxLength);
    }
    if (existing !== undefined && existing.value === list) existing.expiresAt = now + options.ttlMs;
    else if (list.length > 0) this.#insert(key, { value: list, expiresAt: now + options.ttlMs });
    for (const refresh of options.touch ?? []) {
      const entry = this.#live(refresh.key);
      if (entry !== undefined) entry.expiresAt = now + refresh.ttlMs;
    }
  }

  /** Stops the sweep timer. Stored data stays readable. */
  async close(): Promise<void> {
    clearInterval(this.#sweepTimer);
    this.#sweepTimer = undefined;
  }

  #live(key: string): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }

  #insert(key: string, entry: Entry): void {
    // Re-inserting moves the key to the end, so Map order stays "oldest write first".
    this.#entries.delete(key);
    if (this.#entries.size >= this.#maxEntries) this.#sweep();
    while (this.#entries.size >= this.#maxEntries) this.#evictOne();
    this.#entries.set(key, entry);
  }

  #evictOne(): void {
    let victim: string | undefined;
    let soonest = Number.POSITIVE_INFINITY;
    for (const [key, entry] of this.#entries) {
      // Strict `<` keeps the first (oldest) of equal expiry times.
      if (entry.expiresAt < soonest) {
        soonest = entry.expiresAt;
        victim = key;
      }
    }
    if (victim !== undefined) this.#entries.delete(victim);
  }

  #sweep(): void {
    const now = Date.now();
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt <= now) this.#entries.delete(key);
    }
  }
}
