import { memoryCapacity } from '../internal/memory-capacity.js';
import { unrefTimer } from '../internal/unref-timer.js';
import { CompactLog } from './compact-log.js';
import { assertEntriesInOrder } from './entries-in-order.js';
import { namesRunningTurn } from './latest-turn-record.js';
import type { TurnAppendOptions, TurnBackend, TurnLogEntry } from './turn-backend.js';

/** Options of {@link MemoryTurnBackend}. */
export interface MemoryTurnBackendOptions {
  /** The most logs and records kept; when full, the one expiring soonest goes first. @default 10000 */
  maxEntries?: number;
  /** How often expired logs are swept out; the timer is `unref()`ed. @default 60000 */
  sweepIntervalMs?: number;
}

interface Slot {
  value: string | CompactLog;
  expiresAt: number;
}

/**
 * An in-process {@link TurnBackend}: a bounded, compact log per turn (see `CompactLog`: 12–28
 * bytes a stored token once its turn ended) and plain string records, both expiring lazily on
 * read and in a periodic sweep, like the Redis backend does by itself.
 *
 * @example
 * const turns = new MemoryTurnBackend({ maxEntries: 5000 });
 */
export class MemoryTurnBackend implements TurnBackend {
  readonly #slots = new Map<string, Slot>();
  readonly #maxEntries: number;
  #sweepTimer: ReturnType<typeof setInterval> | undefined;

  constructor(options: MemoryTurnBackendOptions = {}) {
    const { maxEntries, sweepIntervalMs } = memoryCapacity(options, 10_000);
    this.#maxEntries = maxEntries;
    this.#sweepTimer = setInterval(() => this.#sweep(), sweepIntervalMs);
    unrefTimer(this.#sweepTimer);
  }

  /** How many logs and records are held, including expired ones not yet swept. */
  get size(): number {
    return this.#slots.size;
  }

  async append(key: string, entries: readonly TurnLogEntry[], options: TurnAppendOptions): Promise<boolean> {
    return this.#append(key, entries, options);
  }

  appendSync(key: string, entries: readonly TurnLogEntry[], options: TurnAppendOptions): boolean {
    return this.#append(key, entries, options);
  }

  #append(key: string, entries: readonly TurnLogEntry[], options: TurnAppendOptions): boolean {
    const now = Date.now();
    const fence = options.fence;
    const fenceSlot = fence === undefined ? undefined : this.#live(fence.key, now);
    if (fence !== undefined && epochOf(fenceSlot) !== fence.epoch) return false;
    const slot = this.#live(key, now);
    const log = slot?.value instanceof CompactLog ? slot.value : new CompactLog();
    // Checked whole before anything is written: a refused batch leaves the log as it was.
    assertEntriesInOrder(entries, log.size > 0 ? log.lastSeq : undefined);
    for (const entry of entries) {
      // Kept as strings of its own, so a caller never shares an object with the store.
      log.push(entry.seq, String(entry.payload));
    }
    log.keepNewest(options.maxEvents);
    // A live log is extended in place: this runs for every batch of every turn, and a delete and
    // set of its key would leave a hole in the map each time for the next rehash to sweep.
    if (slot !== undefined && slot.value === log) slot.expiresAt = now + options.ttlMs;
    else this.#put(key, { value: log, expiresAt: now + options.ttlMs });
    const record = options.record;
    if (record && (!record.sameTurnOnly || namesSameTurn(this.#live(record.key, now)?.value, record.value))) {
      this.#put(record.key, { value: String(record.value), expiresAt: now + record.ttlMs });
    }
    if (fenceSlot !== undefined) fenceSlot.expiresAt = now + options.ttlMs;
    return true;
  }

  async raiseFence(key: string, ttlMs: number): Promise<number> {
    const current = epochOf(this.#live(key));
    // An unreadable fence is replaced: the claim must still shut out whoever wrote before.
    const epoch = (Number.isNaN(current) ? 1 : current) + 1;
    this.#put(key, { value: String(epoch), expiresAt: Date.now() + ttlMs });
    return epoch;
  }

  async read(key: string, afterSeq: number, limit: number): Promise<TurnLogEntry[]> {
    return this.#log(key)?.read(afterSeq, limit) ?? [];
  }

  async last(key: string): Promise<TurnLogEntry | null> {
    return this.#log(key)?.last() ?? null;
  }

  async get(key: string): Promise<string | null> {
    const value = this.#live(key)?.value;
    return typeof value === 'string' ? value : null;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    this.#put(key, { value: String(value), expiresAt: Date.now() + ttlMs });
  }

  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<string | null> {
    const existing = this.#live(key)?.value;
    if (typeof existing === 'string') return existing;
    this.#put(key, { value: String(value), expiresAt: Date.now() + ttlMs });
    return null;
  }

  async replaceUnlessRunning(key: string, value: string, ttlMs: number, runningSince: number): Promise<boolean> {
    const existing = this.#live(key)?.value;
    if (typeof existing === 'string' && namesRunningTurn(existing, runningSince)) return false;
    this.#put(key, { value: String(value), expiresAt: Date.now() + ttlMs });
    return true;
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const key of keys) this.#slots.delete(key);
  }

  /** Stops the sweep timer. */
  async close(): Promise<void> {
    clearInterval(this.#sweepTimer);
    this.#sweepTimer = undefined;
  }

  #log(key: string): CompactLog | undefined {
    const value = this.#live(key)?.value;
    return value instanceof CompactLog ? value : undefined;
  }

  #live(key: string, now = Date.now()): Slot | undefined {
    const slot = this.#slots.get(key);
    if (slot === undefined) return undefined;
    if (slot.expiresAt > now) return slot;
    this.#slots.delete(key);
    return undefined;
  }

  #put(key: string, slot: Slot): void {
    this.#slots.delete(key);
    if (this.#slots.size >= this.#maxEntries) this.#evict();
    this.#slots.set(key, slot);
  }

  /** Makes room: expired slots first, else the one expiring soonest. */
  #evict(): void {
    this.#sweep();
    if (this.#slots.size < this.#maxEntries) return;
    let soonest: string | undefined;
    let soonestAt = Number.POSITIVE_INFINITY;
    for (const [key, slot] of this.#slots) {
      if (slot.expiresAt < soonestAt) {
        soonest = key;
        soonestAt = slot.expiresAt;
      }
    }
    if (soonest !== undefined) this.#slots.delete(soonest);
  }

  #sweep(): void {
    const now = Date.now();
    for (const [key, slot] of this.#slots) if (slot.expiresAt <= now) this.#slots.delete(key);
  }
}

/** The epoch a fence slot holds: 1 when absent, like the Redis script; `NaN` (matches nothing) when unreadable. */
function epochOf(slot: Slot | undefined): number {
  const value = slot?.value;
  if (value === undefined) return 1;
  return typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : Number.NaN;
}

/** Whether a record there (`existing`) is absent, not JSON, or names the same `turnId` as `value`. */
function namesSameTurn(existing: unknown, value: string): boolean {
  if (typeof existing !== 'string') return existing === undefined;
  const turnIdOf = (text: string): unknown => {
    try {
      return (JSON.parse(text) as { turnId?: unknown } | null)?.turnId;
    } catch {
      return undefined;
    }
  };
  const there = turnIdOf(existing);
  return there === undefined || there === turnIdOf(value);
}
