import { LlmChatError } from '../errors.js';
import { memoryCapacity } from '../internal/memory-capacity.js';
import { unrefTimer } from '../internal/unref-timer.js';
import type { Logger } from '../types.js';
import type { AppendToListOptions, SessionBackend, StoredValue } from './session-backend.js';

/** Options of {@link MemorySessionBackend}. */
export interface MemorySessionBackendOptions {
  /**
   * The most keys kept (a connected user takes three: session, history and a marker; each
   * distinct tool list the users' servers listed, one more), so a flood
   * of users cannot grow the process without bound. When full, expired keys are swept out; if
   * none are, a write that needs a new key fails with `BACKEND_UNAVAILABLE` ("Session storage is
   * full") and a `warn` log. Nobody's session is ever evicted to make room.
   * @default 10000
   */
  maxEntries?: number;
  /** Receives a warning each time a write is refused because the storage is full. */
  logger?: Logger;
  /** How often expired keys are swept out; the timer is `unref()`ed. @default 60000 */
  sweepIntervalMs?: number;
}

const FULL_MESSAGE = 'Session storage is full. Please try again later.';

interface Entry {
  value: string | string[];
  expiresAt: number;
}

/**
 * An in-process {@link SessionBackend} for tests and single-process servers. It behaves like
 * Redis: values are strings (so callers never share objects with the store), keys expire lazily
 * on read and in a periodic sweep, and the size is bounded (refusing new keys when full, never
 * evicting live ones).
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
  readonly #logger: Logger | undefined;
  #sweepTimer: ReturnType<typeof setInterval> | undefined;

  constructor(options: MemorySessionBackendOptions = {}) {
    const { maxEntries, sweepIntervalMs } = memoryCapacity(options, 10_000);
    this.#maxEntries = maxEntries;
    this.#logger = options.logger;
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

  async takeIfEqual(key: string, expected: string, replacement?: StoredValue): Promise<boolean> {
    if (this.#live(key)?.value !== expected) return false;
    this.#entries.delete(key);
    if (replacement) {
      this.#insert(replacement.key, { value: String(replacement.value), expiresAt: Date.now() + replacement.ttlMs });
    }
    return true;
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

  async getWithList(key: string, listKey: string): Promise<[string | null, string[]]> {
    return [await this.get(key), await this.getList(listKey)];
  }

  async appendToList(key: string, values: readonly string[], options: AppendToListOptions): Promise<boolean> {
    const now = Date.now();
    if (options.onlyIf !== undefined) {
      const guard = this.#live(options.onlyIf.key)?.value;
      if (typeof guard !== 'string' || !guard.includes(options.onlyIf.contains)) return false;
    }
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
    return true;
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
    const existed = this.#entries.delete(key);
    if (!existed && this.#entries.size >= this.#maxEntries) this.#sweep();
    if (!existed && this.#entries.size >= this.#maxEntries) {
      // Refused, loudly: evicting would silently lose some other user's session.
      this.#logger?.warn?.('Memory session storage is full; a new key was refused.', { maxEntries: this.#maxEntries });
      throw new LlmChatError('BACKEND_UNAVAILABLE', FULL_MESSAGE, { details: { maxEntries: this.#maxEntries } });
    }
    this.#entries.set(key, entry);
  }

  #sweep(): void {
    const now = Date.now();
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt <= now) this.#entries.delete(key);
    }
  }
}
