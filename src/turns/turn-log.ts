import { LlmChatError, wrapError } from '../errors.js';
import { randomToken } from '../internal/random-token.js';
import { type LatestTurn, readLatestTurn, TURN_ID } from './latest-turn-record.js';
import type { TurnAppendOptions, TurnBackend, TurnLogEntry } from './turn-backend.js';
import { idempotencyKey, latestTurnKey, turnEventsKey, turnFenceKey, turnStopKey } from './turn-keys.js';

/** The stop mark of a turn its user stopped. */
const STOPPED_MARK = '1';
/** The stop mark of a turn whose conversation was deleted. */
const DELETED_MARK = 'deleted';

/** One recorded event of a turn: its position, its SSE event name, and its data object. */
export interface RecordedEvent {
  /** Position in the turn, from 1. */
  seq: number;
  /** The SSE event name (`token`, `tool_start`, …, `final`, `error`). */
  event: string;
  /** The SSE data, as sent to clients. */
  data: Record<string, unknown>;
}

/** Which turn of which user and conversation. */
export interface TurnRef {
  userId: string;
  /** Absent: the user's default conversation. */
  conversationId?: string;
  turnId: string;
}

export type { LatestTurn } from './latest-turn-record.js';

/** What {@link TurnLog.startLatestUnderLock} did. */
export type UnderLockRecord =
  | { kind: 'recorded'; undo: () => Promise<void> }
  | { kind: 'running' }
  | { kind: 'not-locked' };

/** Options of {@link TurnLog.append}. */
export interface TurnAppendExtras {
  /** The conversation's latest-turn record, written in the same step (for the retention). */
  latest?: LatestTurn;
  /** Append only while the turn's fence holds this epoch (see {@link TurnLog.claim}). */
  epoch?: number;
  /**
   * The turn's lease, freed in the same step when the backend can ({@link TurnLog.freesLocks});
   * else ignored, and the caller frees it as usual.
   */
  releaseLock?: { key: string; token: string };
}

/** The record of an `Idempotency-Key`: the turn it started, and a digest of its message. */
export interface IdempotencyRecord {
  turnId: string;
  /** SHA-256 of the message, to tell a retry from a reuse of the key for something else. */
  digest: string;
}

/** Options of {@link TurnLog}. */
export interface TurnLogOptions {
  /** How long a turn's events are kept after its last one. @default 600000 (10 minutes) */
  retentionMs?: number;
  /** Events kept per turn; older ones are dropped (and a resume before them is `RESUME_LOST`). @default 10000 */
  maxEvents?: number;
}

/** Events that end a turn: exactly one of them, last. */
export const TERMINAL_EVENTS: ReadonlySet<string> = new Set(['final', 'error']);

const EVENT_NAME = /^[a-z_]{1,32}$/;
const EVENT_ID = /^([A-Za-z0-9_-]{8,64}):(\d{1,15})$/;
const INVALID_MESSAGE = 'The recorded events of this turn are invalid.';

/**
 * The typed face of a {@link TurnBackend}: per-turn event logs with ids `<turnId>:<seq>`, the
 * conversation's latest turn, and idempotency records. Entries are validated on read; anything
 * else found in storage is `EVENT_LOG_INVALID`, never a crash. Backend failures are
 * `BACKEND_UNAVAILABLE`.
 *
 * @example
 * const log = new TurnLog(new MemoryTurnBackend(), { retentionMs: 600_000 });
 * const ref = { userId: 'alice', turnId: TurnLog.newTurnId() };
 * await log.append(ref, [{ seq: 1, event: 'token', data: { content: 'Hi' } }], 60_000);
 * const events = await log.read(ref, 0);
 */
export class TurnLog {
  readonly #backend: TurnBackend;
  /** The backend's `appendSync`, read once (it is called for every event of every turn). */
  readonly #appendSync: TurnBackend['appendSync'];
  /** The keys of a turn, built once: its events are appended a batch at a time. */
  readonly #keys = new WeakMap<TurnRef, TurnKeys>();
  readonly retentionMs: number;
  readonly maxEvents: number;

  constructor(backend: TurnBackend, options: TurnLogOptions = {}) {
    const { retentionMs = 600_000, maxEvents = 10_000 } = options;
    if (!Number.isFinite(retentionMs) || retentionMs < 1) {
      throw new LlmChatError('CONFIG_INVALID', 'retentionMs must be a positive number of milliseconds.');
    }
    if (!Number.isInteger(maxEvents) || maxEvents < 2) {
      throw new LlmChatError('CONFIG_INVALID', 'maxEvents must be a whole number of at least 2.');
    }
    this.#backend = backend;
    this.#appendSync = typeof backend.appendSync === 'function' ? backend.appendSync : undefined;
    this.retentionMs = retentionMs;
    this.maxEvents = maxEvents;
  }

  /** A new turn id: random, so ids never repeat across processes and restarts. */
  static newTurnId(): string {
    return randomToken(12);
  }

  /** The SSE id of an event: `<turnId>:<seq>`. */
  static eventId(turnId: string, seq: number): string {
    return `${turnId}:${seq}`;
  }

  /** Reads an SSE id back; `undefined` when it is not one of ours. */
  static parseEventId(id: string): { turnId: string; seq: number } | undefined {
    const match = EVENT_ID.exec(id);
    if (!match) return undefined;
    return { turnId: match[1] as string, seq: Number(match[2]) };
  }

  /** Whether a string can be a turn id. */
  static isTurnId(value: string): boolean {
    return TURN_ID.test(value);
  }

  /**
   * Appends events of one turn in one backend step; the log then lives `ttlMs` longer. With
   * `latest`, the conversation's latest-turn record is written in the same step (for the
   * retention). With `epoch`, only while the turn's fence holds that epoch: resolves `false`,
   * writing nothing, once another process has claimed the turn. With `releaseLock` (and a backend
   * that can), a written append has also freed that lock, or found it no longer held.
   */
  append(
    ref: TurnRef,
    events: readonly RecordedEvent[],
    ttlMs: number,
    extras: TurnAppendExtras = {},
  ): Promise<boolean> {
    // Not an async function (one promise less for every stored batch of every turn): an event
    // that cannot be serialized still rejects, it does not throw.
    try {
      return this.#append(ref, events, ttlMs, extras);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #append(ref: TurnRef, events: readonly RecordedEvent[], ttlMs: number, extras: TurnAppendExtras): Promise<boolean> {
    const { key, entries, options } = this.#appendRequest(ref, events, ttlMs, extras);
    return this.#call(() => this.#backend.append(key, entries, options));
  }

  /**
   * Whether the backend appends before it returns (one in this process): then {@link appendSync}
   * can write a turn's events with no promise between the chat loop and the log.
   */
  get appendsSync(): boolean {
    return this.#appendSync !== undefined;
  }

  /**
   * {@link append}, done before it returns; only when {@link appendsSync}. Returns `false`,
   * writing nothing, once another process has claimed the turn.
   * @throws LlmChatError `BACKEND_UNAVAILABLE` when the store failed; the `TypeError` of an event
   * that cannot be serialized.
   */
  appendSync(ref: TurnRef, events: readonly RecordedEvent[], ttlMs: number, extras: TurnAppendExtras = {}): boolean {
    const appendSync = this.#appendSync;
    if (appendSync === undefined) throw new LlmChatError('INTERNAL', 'This turn storage cannot append synchronously.');
    const { key, entries, options } = this.#appendRequest(ref, events, ttlMs, extras);
    try {
      return appendSync.call(this.#backend, key, entries, options);
    } catch (error) {
      throw wrapError(error, 'BACKEND_UNAVAILABLE', UNAVAILABLE_MESSAGE);
    }
  }

  /** What the backend is asked to store for an append: entries and options, keys resolved. */
  #appendRequest(
    ref: TurnRef,
    events: readonly RecordedEvent[],
    ttlMs: number,
    extras: TurnAppendExtras,
  ): AppendRequest {
    const entries: TurnLogEntry[] = events.map((event) => ({
      seq: event.seq,
      payload: JSON.stringify({ e: event.event, d: event.data }),
    }));
    const options: TurnAppendOptions = { maxEvents: this.maxEvents, ttlMs };
    const { latest, epoch } = extras;
    if (latest) {
      options.record = {
        key: latestTurnKey(ref.userId, ref.conversationId),
        value: JSON.stringify(latest),
        ttlMs: this.retentionMs,
        sameTurnOnly: true,
      };
    }
    const keys = this.#keysOf(ref);
    if (epoch !== undefined) options.fence = { key: keys.fence, epoch };
    if (extras.releaseLock && this.freesLocks) options.releaseLock = extras.releaseLock;
    return { key: keys.events, entries, options };
  }

  #keysOf(ref: TurnRef): TurnKeys {
    let keys = this.#keys.get(ref);
    // A caller may reuse its ref object for another turn: the keys follow what it says now.
    if (keys === undefined || keys.userId !== ref.userId || keys.turnId !== ref.turnId) {
      const { userId, turnId } = ref;
      keys = { userId, turnId, events: turnEventsKey(userId, turnId), fence: turnFenceKey(userId, turnId) };
      this.#keys.set(ref, keys);
    }
    return keys;
  }

  /** Whether an append can free the turn's lease in its own step (see `TurnAppendExtras.releaseLock`). */
  get freesLocks(): boolean {
    return this.#backend.freesLocks === true;
  }

  /**
   * Claims a turn for this process: raises its fence, so the process that wrote it so far (dead,
   * or only paused) can append nothing more. Resolves the epoch to append with from now on.
   */
  async claim(ref: TurnRef, ttlMs: number): Promise<number> {
    const epoch = await this.#call(() => this.#backend.raiseFence(turnFenceKey(ref.userId, ref.turnId), ttlMs));
    if (!Number.isSafeInteger(epoch) || epoch < 2) {
      throw new LlmChatError('EVENT_LOG_INVALID', 'The fence of this turn is invalid.');
    }
    return epoch;
  }

  /** Whether the turn's fence still holds `epoch` (an absent fence holds 1): the writer was not replaced. */
  async holdsEpoch(ref: TurnRef, epoch: number): Promise<boolean> {
    const raw = await this.#call(() => this.#backend.get(turnFenceKey(ref.userId, ref.turnId)));
    if (raw === null) return epoch === 1;
    return /^\d{1,15}$/.test(raw) && Number(raw) === epoch;
  }

  /**
   * Events with `seq > afterSeq`, oldest first, up to `limit`.
   * @throws LlmChatError `RESUME_LOST` when events right after `afterSeq` were trimmed away
   * (an expired log reads as empty: the caller decides what that means);
   * `EVENT_LOG_INVALID` when an entry is not what this class writes.
   */
  async read(ref: TurnRef, afterSeq: number, limit = 1000): Promise<RecordedEvent[]> {
    const entries = await this.#call(() => this.#backend.read(turnEventsKey(ref.userId, ref.turnId), afterSeq, limit));
    const events = entries.map(decodeEntry);
    // Trimmed from the front (the log's bound), or a gap a failed write left: either way some
    // events after `afterSeq` are gone, and skipping them would hand the reader a different answer.
    let expected = afterSeq + 1;
    for (const event of events) {
      if (event.seq !== expected) {
        throw new LlmChatError('RESUME_LOST', 'The events of this turn after the given id are no longer retained.');
      }
      expected += 1;
    }
    return events;
  }

  /** The newest event of a turn, or `null` when its log is gone. */
  async last(ref: TurnRef): Promise<RecordedEvent | null> {
    const entry = await this.#call(() => this.#backend.last(turnEventsKey(ref.userId, ref.turnId)));
    return entry === null ? null : decodeEntry(entry);
  }

  /**
   * Marks a turn as stopped by its user, for the process running it should the bus lose the
   * stop message, and for whichever process takes it over if that one is dead (a stop sent to a
   * dead process reaches nobody). `deleting`: the stop comes with its conversation's delete,
   * and the turn must not save itself afterwards ({@link isDeleted}).
   */
  async requestStop(ref: TurnRef, ttlMs: number, options: { deleting?: boolean } = {}): Promise<void> {
    const key = turnStopKey(ref.userId, ref.turnId);
    // A plain stop never turns a delete's mark back into a plain one (another tab's `/stop`
    // during the delete's wait would let the turn save itself after all).
    if (options.deleting === true) await this.#call(() => this.#backend.set(key, DELETED_MARK, ttlMs));
    else await this.#call(() => this.#backend.setIfAbsent(key, STOPPED_MARK, ttlMs));
  }

  /** Whether {@link requestStop} marked the turn. */
  async isStopRequested(ref: TurnRef): Promise<boolean> {
    return (await this.#stopMark(ref)) !== null;
  }

  /** Whether the turn was stopped because its conversation was deleted. */
  async isDeleted(ref: TurnRef): Promise<boolean> {
    return (await this.#stopMark(ref)) === DELETED_MARK;
  }

  #stopMark(ref: TurnRef): Promise<string | null> {
    return this.#call(() => this.#backend.get(turnStopKey(ref.userId, ref.turnId)));
  }

  /** Records which turn the conversation runs now, for readers without an id and for `/stop`. */
  async setLatest(
    userId: string,
    conversationId: string | undefined,
    latest: LatestTurn,
    ttlMs: number,
  ): Promise<void> {
    await this.#call(() => this.#backend.set(latestTurnKey(userId, conversationId), JSON.stringify(latest), ttlMs));
  }

  /**
   * Records a new turn as the one the conversation runs now, unless the record names another
   * turn still running (not ended, started at or after `runningSince`): one step, check and
   * write. Resolves whether it recorded. Under the conversation's turn lock, a turn found still
   * running has lost its process (a live one would hold that lock): the caller takes it over.
   */
  async startLatest(
    userId: string,
    conversationId: string | undefined,
    latest: LatestTurn,
    ttlMs: number,
    runningSince: number,
  ): Promise<boolean> {
    return this.#call(() =>
      this.#backend.replaceUnlessRunning(
        latestTurnKey(userId, conversationId),
        JSON.stringify(latest),
        ttlMs,
        runningSince,
      ),
    );
  }

  /** Whether {@link startLatestUnderLock} can record a turn in its lock's round trip. */
  get recordsUnderLock(): boolean {
    const backend = this.#backend;
    return (
      this.freesLocks &&
      typeof backend.replaceUnlessRunningUnderLock === 'function' &&
      typeof backend.restoreRecord === 'function'
    );
  }

  /**
   * {@link startLatest}, done only while the conversation's lock `lock.key` holds `lock.token`:
   * called right after requesting that lock, it travels in the same round trip. Resolves
   * `recorded` (with `undo`, which puts the record it replaced back, for a turn that then does
   * not start), `running` (a turn still recorded as running: take it over first) or `not-locked`
   * (the lock was refused or not granted yet: record the usual way once it is).
   * Only when {@link recordsUnderLock}.
   */
  async startLatestUnderLock(
    userId: string,
    conversationId: string | undefined,
    latest: LatestTurn,
    ttlMs: number,
    runningSince: number,
    lock: { key: string; token: string },
  ): Promise<UnderLockRecord> {
    const backend = this.#backend;
    const { replaceUnlessRunningUnderLock: replace, restoreRecord: restore } = backend;
    if (!this.recordsUnderLock || !replace || !restore) return { kind: 'not-locked' };
    const key = latestTurnKey(userId, conversationId);
    const value = JSON.stringify(latest);
    const outcome = await this.#call(() => replace.call(backend, key, value, ttlMs, runningSince, lock));
    if (outcome.kind !== 'stored') return outcome;
    const { previous } = outcome;
    return { kind: 'recorded', undo: () => this.#call(() => restore.call(backend, key, value, previous)) };
  }

  /**
   * The turn the conversation ran last, or `null`. A record that is not ours reads as `null`, as
   * does one that says it started further ahead of now than clocks disagree (junk: it would
   * count as running for ever).
   */
  async getLatest(userId: string, conversationId?: string): Promise<LatestTurn | null> {
    return readLatestTurn(await this.#call(() => this.#backend.get(latestTurnKey(userId, conversationId))));
  }

  /**
   * Forgets the conversation's latest turn: its record and its events (a deleted conversation).
   * Older turns' events are not reachable without their ids and end with their retention.
   */
  async forgetLatest(userId: string, conversationId?: string): Promise<void> {
    const latest = await this.getLatest(userId, conversationId);
    const keys = [latestTurnKey(userId, conversationId)];
    if (latest !== null) keys.push(turnEventsKey(userId, latest.turnId));
    await this.#call(() => this.#backend.delete(keys));
  }

  /**
   * Claims an idempotency key for a turn about to start. Resolves `null` when claimed, else the
   * record already there (a record that is not ours counts as a claim of another message).
   */
  async claimIdempotencyKey(
    userId: string,
    conversationId: string | undefined,
    key: string,
    record: IdempotencyRecord,
  ): Promise<IdempotencyRecord | null> {
    const existing = await this.#call(() =>
      this.#backend.setIfAbsent(idempotencyKey(userId, conversationId, key), JSON.stringify(record), this.retentionMs),
    );
    if (existing === null) return null;
    const value = parseRecord(existing);
    if (typeof value?.turnId === 'string' && TurnLog.isTurnId(value.turnId) && typeof value.digest === 'string') {
      return { turnId: value.turnId, digest: value.digest };
    }
    return { turnId: '', digest: '' };
  }

  /** Forgets an idempotency key whose turn never started, so a retry can start it. */
  async releaseIdempotencyKey(userId: string, conversationId: string | undefined, key: string): Promise<void> {
    await this.#call(() => this.#backend.delete([idempotencyKey(userId, conversationId, key)]));
  }

  // Not an async function: this runs for every stored batch of every turn, and an async wrapper
  // costs two more promises each time.
  #call<T>(operation: () => Promise<T>): Promise<T> {
    try {
      // `Promise.resolve` keeps a backend that answers with a plain value working, at no cost
      // for a real promise (it is returned as it is).
      return Promise.resolve(operation()).catch(unavailable);
    } catch (error) {
      return Promise.reject(wrapError(error, 'BACKEND_UNAVAILABLE', UNAVAILABLE_MESSAGE));
    }
  }
}

const UNAVAILABLE_MESSAGE = 'Turn storage is unavailable.';

interface AppendRequest {
  key: string;
  entries: TurnLogEntry[];
  options: TurnAppendOptions;
}

interface TurnKeys {
  userId: string;
  turnId: string;
  events: string;
  fence: string;
}

function unavailable(error: unknown): never {
  throw wrapError(error, 'BACKEND_UNAVAILABLE', UNAVAILABLE_MESSAGE);
}

function decodeEntry(entry: TurnLogEntry): RecordedEvent {
  const value = Number.isSafeInteger(entry.seq) && entry.seq > 0 ? parseRecord(entry.payload) : undefined;
  const event = value?.e;
  const data = value?.d;
  if (
    typeof event !== 'string' ||
    !EVENT_NAME.test(event) ||
    typeof data !== 'object' ||
    data === null ||
    Array.isArray(data)
  ) {
    throw new LlmChatError('EVENT_LOG_INVALID', INVALID_MESSAGE);
  }
  return { seq: entry.seq, event, data: data as Record<string, unknown> };
}

function parseRecord(raw: string | null): Record<string, unknown> | undefined {
  if (raw === null) return undefined;
  try {
    const value: unknown = JSON.parse(raw);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
