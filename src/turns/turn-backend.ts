/** One stored entry of a turn's event log: its position and its payload, as the backend keeps it. */
export interface TurnLogEntry {
  /** Position in the turn, from 1, strictly increasing. */
  seq: number;
  /** The encoded event (JSON text); decoded and validated by `TurnLog`, not by the backend. */
  payload: string;
}

/** Options of {@link TurnBackend.append}. */
export interface TurnAppendOptions {
  /** Entries kept per log; older ones are trimmed (Redis may keep a few more, see `MAXLEN ~`). */
  maxEvents: number;
  /** The log expires this long after this append. */
  ttlMs: number;
  /**
   * A string record set in the same step (same user, so the same Redis slot). With `sameTurnOnly`
   * (a turn's latest-turn record as it ends) it is set only where the record there is absent, not
   * JSON, or names the same `turnId` as `value`: a turn that ends after a newer one started on the
   * conversation must not take the record back from it.
   */
  record?: { key: string; value: string; ttlMs: number; sameTurnOnly?: boolean };
  /**
   * Append only while the turn's fence record at `key` holds `epoch` (checked in the same step;
   * an absent fence counts as epoch 1). A process whose turn another process has claimed
   * ({@link TurnBackend.raiseFence}) is refused this way, so it can never write after the claim.
   * The fence's TTL is set like the log's. On Redis `key` shares the log's hash tag.
   */
  fence?: { key: string; epoch: number };
  /**
   * A lock of the same storage's lock backend (the turn's lease, with the turn's last event) to
   * free in the same step, once the entries are written, while `token` still holds it. Given only
   * to a backend whose {@link TurnBackend.freesLocks} is `true`.
   */
  releaseLock?: { key: string; token: string };
}

/** A string record as it was, to put back: its value and its remaining TTL (none: it had no expiry). */
export interface SavedRecord {
  value: string;
  ttlMs?: number;
}

/** What {@link TurnBackend.replaceUnlessRunningUnderLock} did. */
export type UnderLockReplace =
  /** Stored; `previous` is the record it replaced (`null`: there was none). */
  | { kind: 'stored'; previous: SavedRecord | null }
  /** Left alone: the record names a turn still running. */
  | { kind: 'running' }
  /** Left alone: the lock was not held with the token (refused, or not granted yet). */
  | { kind: 'not-locked' };

/**
 * Where turns are recorded: one append-only event log per turn, plus small string records with a
 * TTL (which turn a conversation ran last, idempotency keys). Memory keeps a bounded ring per
 * turn; Redis keeps a Stream per turn (`XADD` with a length cap and `PEXPIRE`).
 *
 * All methods are required and reject with an `LlmChatError` of code `BACKEND_UNAVAILABLE` when
 * the store cannot be reached. Keys arrive already scoped to one user (hash-tagged).
 */
export interface TurnBackend {
  /**
   * Whether {@link append} can free a lock of the storage's lock backend in its own step
   * (`releaseLock`): one command less at the end of every turn. Absent: it cannot.
   */
  readonly freesLocks?: boolean;
  /**
   * Appends entries to a log in one step (one round trip on Redis), trims it to about
   * `maxEvents` and sets its TTL. Entries must have higher `seq` than any already stored.
   * Resolves `false`, writing nothing, when `options.fence` does not hold; else `true`. It must
   * settle in bounded time (reject on a timeout): a turn's readers see a batch only once its
   * write has settled.
   */
  append(key: string, entries: readonly TurnLogEntry[], options: TurnAppendOptions): Promise<boolean>;
  /**
   * Optional: {@link append}, done before it returns (a backend in this process). When present,
   * a running turn writes each event in the step that records it, with no promise between the
   * chat loop and the log; it returns what `append` resolves and throws what `append` rejects.
   */
  appendSync?(key: string, entries: readonly TurnLogEntry[], options: TurnAppendOptions): boolean;
  /**
   * Raises the fence record at `key` by one in one atomic step (an absent or unreadable fence
   * counts as epoch 1) and sets its TTL; resolves the new epoch. Of two processes claiming the
   * same turn, each gets a different epoch, and only the higher one can append.
   */
  raiseFence(key: string, ttlMs: number): Promise<number>;
  /** Up to `limit` entries with `seq > afterSeq`, oldest first; `[]` for a log that is gone. */
  read(key: string, afterSeq: number, limit: number): Promise<TurnLogEntry[]>;
  /** The newest entry, or `null` when the log is empty or gone. */
  last(key: string): Promise<TurnLogEntry | null>;
  /** A string record, or `null`. */
  get(key: string): Promise<string | null>;
  /** Stores a string record with a TTL, replacing any. */
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** Stores the record only when absent: resolves `null` when stored, else the value already there. */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<string | null>;
  /**
   * Stores a conversation's latest-turn record (JSON `{ startedAt: number, ended?: true, … }`)
   * with a TTL in one atomic step, unless the record there names a turn still running: one
   * without `ended: true` whose `startedAt` is at or after `runningSince` (epoch ms). A record
   * that is absent, ended, older, or not such JSON is replaced. Resolves whether it stored.
   * A call that rejects must leave no record behind, even one the store writes after the call
   * gave up (the Redis backend takes such a late write back when its reply arrives): no turn
   * starts with it, and a running turn's record that nobody runs would be taken over.
   */
  replaceUnlessRunning(key: string, value: string, ttlMs: number, runningSince: number): Promise<boolean>;
  /**
   * Optional, with {@link freesLocks}: {@link replaceUnlessRunning}, done only while the storage's
   * lock `lock.key` holds `lock.token`, checked in the same step. Sent right behind the request
   * for that lock, before its answer, it records a new turn in the lock's own round trip; a lock
   * that was refused leaves the record alone. Requests must reach the store in the order they
   * are made (one Redis connection for both, as `redisStorage` has). Like
   * {@link replaceUnlessRunning}, a call that rejects leaves no record behind.
   */
  replaceUnlessRunningUnderLock?(
    key: string,
    value: string,
    ttlMs: number,
    runningSince: number,
    lock: { key: string; token: string },
  ): Promise<UnderLockReplace>;
  /**
   * Optional, with {@link replaceUnlessRunningUnderLock}: puts `previous` back at `key` (deletes
   * the record when `null`) in one step, only while the record there is still `current`.
   */
  restoreRecord?(key: string, current: string, previous: SavedRecord | null): Promise<void>;
  /** Deletes records or logs. */
  delete(keys: readonly string[]): Promise<void>;
}
