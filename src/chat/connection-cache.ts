import type { Logger } from '../types.js';

/** Something the cache owns and must close. */
export interface Closeable {
  close(): Promise<void>;
}

/** Options of {@link ConnectionCache}. */
export interface ConnectionCacheOptions {
  /** An entry unused this long is closed. @default 300000 */
  idleMs?: number;
  /**
   * The most entries kept; the least recently used idle ones go first. Entries in use are never
   * closed, so while more than this are in use the cache holds more. @default 1000
   */
  max?: number;
  logger?: Logger;
}

/** A borrowed entry: call `release()` when the work using it is done. */
export interface CacheLease<T> {
  value: T;
  release(): void;
}

interface Entry<T> {
  version: string;
  value: Promise<T>;
  users: number;
  lastUsed: number;
}

/**
 * Live MCP connections of this process, one per user, tagged with the configuration version
 * they were built from. Any process can rebuild one from the stored configuration, so the cache
 * is only an optimization: a missing or stale entry is built again (once, however many requests
 * ask at the same time), an idle one is closed, and an entry in use is never closed under a turn.
 * @internal
 */
export class ConnectionCache<T extends Closeable> {
  readonly #entries = new Map<string, Entry<T>>();
  readonly #idleMs: number;
  readonly #max: number;
  readonly #logger: Logger | undefined;
  readonly #sweep: ReturnType<typeof setInterval>;

  constructor(options: ConnectionCacheOptions = {}) {
    this.#idleMs = options.idleMs ?? 300_000;
    this.#max = options.max ?? 1000;
    this.#logger = options.logger;
    this.#sweep = setInterval(() => this.#evictIdle(), Math.max(1000, Math.min(this.#idleMs, 60_000)));
    this.#sweep.unref();
  }

  /** How many entries are live. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Borrows the entry of `key` built from `version`, building it with `build` when there is
   * none or it was built from another version. A failed build is not cached.
   */
  async acquire(key: string, version: string, build: () => Promise<T>): Promise<CacheLease<T>> {
    let entry = this.#entries.get(key);
    if (entry && entry.version !== version && entry.users === 0) {
      this.#drop(key, entry);
      entry = undefined;
    }
    let built = false;
    if (!entry || entry.version !== version) {
      const fresh: Entry<T> = { version, value: build(), users: 0, lastUsed: Date.now() };
      // A stale entry still in use is left to its users; the map points at the new one.
      if (entry) this.#closeWhenFree(entry);
      this.#entries.set(key, fresh);
      entry = fresh;
      fresh.value.catch(() => {
        if (this.#entries.get(key) === fresh) this.#entries.delete(key);
      });
      built = true;
    }
    const current = entry;
    current.users += 1;
    // Counted as in use first: with every other entry in use, the one just built would be the
    // only idle one, and be closed as it is handed out. The cache goes over `max` instead, until
    // entries come free.
    if (built) this.#enforceMax();
    let value: T;
    try {
      value = await current.value;
    } catch (error) {
      current.users -= 1;
      throw error;
    }
    let released = false;
    return {
      value,
      release: () => {
        if (released) return;
        released = true;
        current.users -= 1;
        current.lastUsed = Date.now();
        if (current.users === 0 && this.#entries.get(key) !== current) this.#close(current);
        else if (current.users === 0) this.#enforceMax();
      },
    };
  }

  /** Removes and closes the entry of `key` (after its current users finish). */
  evict(key: string): void {
    const entry = this.#entries.get(key);
    if (entry) this.#drop(key, entry);
  }

  /** Closes everything and stops the sweep timer. */
  async close(): Promise<void> {
    clearInterval(this.#sweep);
    const entries = [...this.#entries.values()];
    this.#entries.clear();
    await Promise.all(entries.map((entry) => this.#close(entry)));
  }

  #drop(key: string, entry: Entry<T>): void {
    this.#entries.delete(key);
    this.#closeWhenFree(entry);
  }

  #closeWhenFree(entry: Entry<T>): void {
    // Entries in use are closed by the last release().
    if (entry.users === 0) void this.#close(entry);
  }

  async #close(entry: Entry<T>): Promise<void> {
    try {
      await (await entry.value).close();
    } catch (error) {
      this.#logger?.debug?.('closing a cached MCP connection failed', { error: String(error) });
    }
  }

  #evictIdle(): void {
    const cutoff = Date.now() - this.#idleMs;
    for (const [key, entry] of this.#entries) {
      if (entry.users === 0 && entry.lastUsed < cutoff) this.#drop(key, entry);
    }
  }

  #enforceMax(): void {
    if (this.#entries.size <= this.#max) return;
    const idle = [...this.#entries]
      .filter(([, entry]) => entry.users === 0)
      .sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    for (const [key, entry] of idle) {
      if (this.#entries.size <= this.#max) break;
      this.#drop(key, entry);
    }
  }
}
