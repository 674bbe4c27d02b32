import { assertEntriesInOrder, entriesOutOfOrder } from '../turns/entries-in-order.js';
import type {
  SavedRecord,
  TurnAppendOptions,
  TurnBackend,
  TurnLogEntry,
  UnderLockReplace,
} from '../turns/turn-backend.js';
import type { RedisBackendOptions, RedisClientLike } from './redis-client.js';
import { type RedisCommandOptions, resolveRedisOptions, runRedisCommand, toRedisMs } from './redis-command.js';
import type { RedisLockBackend } from './redis-lock-backend.js';
import { runScript } from './redis-scripts.js';
import {
  APPEND_TURN_EVENTS,
  RAISE_TURN_FENCE,
  REPLACE_UNLESS_RUNNING,
  RESTORE_RECORD,
  SET_IF_ABSENT,
} from './redis-turn-scripts.js';
import { ReleaseRetrier } from './release-retrier.js';
import { noneOfWrongType } from './wrong-type.js';

/** The commands {@link RedisTurnBackend} uses on the host's client. */
export type RedisTurnClientLike = RedisClientLike;

/** Options of {@link RedisTurnBackend}. */
export interface RedisTurnBackendOptions extends RedisBackendOptions {
  /**
   * The lock backend of the same storage (same client and key prefix): with it, a turn's last
   * event write also frees the turn's lock, one command less per turn (see `freesLocks`), and a
   * new turn is recorded in its lock's round trip (`replaceUnlessRunningUnderLock`).
   */
  locks?: Pick<RedisLockBackend, 'redisKey'>;
}

/**
 * A {@link TurnBackend} over the host's ioredis client: one Redis Stream per turn, with entry ids
 * `0-<seq>` so a position in the turn is also a Stream id, `XADD … MAXLEN ~` as the bound and
 * `PEXPIRE` as the retention. An append of several events is one script call, one round trip.
 * A latest-turn record write that timed out but that Redis runs later (a stall, or ioredis
 * sending it again after a reconnect) is taken back as soon as its late reply arrives.
 *
 * @example
 * const turns = new RedisTurnBackend(new Redis(redisUrl), { keyPrefix: 'myapp:chat:' });
 */
export class RedisTurnBackend implements TurnBackend {
  readonly #client: RedisTurnClientLike;
  readonly #keyPrefix: string;
  readonly #timeoutMs: number;
  readonly #locks: RedisTurnBackendOptions['locks'];
  /** Late record writes whose take-back could not reach Redis yet. */
  readonly #takeBacks = new ReleaseRetrier();

  constructor(client: RedisTurnClientLike, options: RedisTurnBackendOptions = {}) {
    const resolved = resolveRedisOptions(options);
    this.#client = client;
    this.#keyPrefix = resolved.keyPrefix;
    this.#timeoutMs = resolved.operationTimeoutMs;
    this.#locks = options.locks;
  }

  get freesLocks(): boolean {
    return this.#locks !== undefined;
  }

  async append(key: string, entries: readonly TurnLogEntry[], options: TurnAppendOptions): Promise<boolean> {
    if (entries.length === 0) return true;
    // The stream refuses an id at or below its last one; a batch in order can then only be
    // refused at its first entry, before anything is written.
    assertEntriesInOrder(entries);
    const { record, fence } = options;
    const locks = this.#locks;
    const release = locks ? options.releaseLock : undefined;
    const stream = this.#key(key);
    // Unused slots repeat the stream's key: every key of the call stays in the user's slot (a
    // lock key carries the user's hash tag too, see RedisLockBackend.redisKey).
    const keys = [
      stream,
      fence ? this.#key(fence.key) : stream,
      record ? this.#key(record.key) : stream,
      release && locks ? locks.redisKey(release.key) : stream,
    ];
    const args: Array<string | number> = [
      toRedisMs(options.ttlMs),
      Math.max(1, Math.floor(options.maxEvents)),
      record?.value ?? '',
      record ? toRedisMs(record.ttlMs) : 0,
      fence ? Math.max(1, Math.floor(fence.epoch)) : 0,
      record ? (record.sameTurnOnly ? '2' : '1') : '0',
      release?.token ?? '',
    ];
    for (const entry of entries) args.push(entry.seq, entry.payload);
    const reply = await this.#run(() => runScript(this.#client, APPEND_TURN_EVENTS, keys, args));
    if (reply === -1) throw entriesOutOfOrder();
    return reply === 1;
  }

  async raiseFence(key: string, ttlMs: number): Promise<number> {
    const reply = await this.#run(() =>
      runScript(this.#client, RAISE_TURN_FENCE, [this.#key(key)], [toRedisMs(ttlMs)]),
    );
    return Number(reply);
  }

  async read(key: string, afterSeq: number, limit: number): Promise<TurnLogEntry[]> {
    const rows = await this.#run(() =>
      this.#client
        .xrange(this.#key(key), `0-${Math.max(0, afterSeq) + 1}`, '+', 'COUNT', limit)
        .catch(noneOfWrongType([])),
    );
    return rows.map(toEntry);
  }

  async last(key: string): Promise<TurnLogEntry | null> {
    const rows = await this.#run(() =>
      this.#client.xrevrange(this.#key(key), '+', '-', 'COUNT', 1).catch(noneOfWrongType([])),
    );
    const row = rows[0];
    return row === undefined ? null : toEntry(row);
  }

  get(key: string): Promise<string | null> {
    return this.#run(() => this.#client.get(this.#key(key)).catch(noneOfWrongType(null)));
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    await this.#run(() => this.#client.set(this.#key(key), value, 'PX', toRedisMs(ttlMs)));
  }

  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<string | null> {
    const existing = await this.#run(() =>
      runScript(this.#client, SET_IF_ABSENT, [this.#key(key)], [value, toRedisMs(ttlMs)]),
    );
    return typeof existing === 'string' ? existing : null;
  }

  async replaceUnlessRunning(key: string, value: string, ttlMs: number, runningSince: number): Promise<boolean> {
    return (await this.#replace(key, value, ttlMs, [String(runningSince)])).kind === 'stored';
  }

  async replaceUnlessRunningUnderLock(
    key: string,
    value: string,
    ttlMs: number,
    runningSince: number,
    lock: { key: string; token: string },
  ): Promise<UnderLockReplace> {
    const locks = this.#locks;
    if (!locks) return { kind: 'not-locked' };
    return this.#replace(key, value, ttlMs, [String(runningSince), lock.token], locks.redisKey(lock.key));
  }

  /**
   * REPLACE_UNLESS_RUNNING, its reply read whatever the server sent. A write that timed out is
   * taken back once Redis shows it ran it late: the caller was told it failed, so no turn starts
   * with that record, and a record naming a running turn nobody runs would be taken over by the
   * next send (the refused message sent to the LLM after all).
   */
  async #replace(
    key: string,
    value: string,
    ttlMs: number,
    rest: string[],
    lockKey?: string,
  ): Promise<UnderLockReplace> {
    const recordKey = this.#key(key);
    const keys = lockKey === undefined ? [recordKey] : [recordKey, lockKey];
    const args = [value, toRedisMs(ttlMs), ...rest];
    const reply = await this.#run(() => runScript(this.#client, REPLACE_UNLESS_RUNNING, keys, args), {
      onTimeout: (sent) => {
        const untilMs = Date.now() + ttlMs;
        sent.then(
          (late) => {
            const outcome = readReplace(late);
            this.#takeBack(recordKey, value, outcome.kind === 'stored' ? outcome.previous : null, untilMs);
          },
          // It may have run before the connection dropped: a record holding `value` is this one.
          () => this.#takeBack(recordKey, value, null, untilMs),
        );
      },
    });
    return readReplace(reply);
  }

  async restoreRecord(key: string, current: string, previous: SavedRecord | null): Promise<void> {
    await this.#run(() => this.#restore(this.#key(key), current, previous));
  }

  /**
   * Puts `previous` back where the record still holds `value` (a compare-and-set: a newer record
   * is never touched; `value` names its own turn), at once and even during a stall, so it goes
   * ahead of the lock's release on the connection; retried in the background until `untilMs`
   * (the record's own end) while Redis cannot be reached.
   */
  #takeBack(recordKey: string, value: string, previous: SavedRecord | null, untilMs: number): void {
    const client = this.#client;
    const attempt = async () => {
      // A client the host quit does not come back: nothing left to do.
      if (client.status === 'end') return;
      await this.#run(() => this.#restore(recordKey, value, previous), { duringStall: true });
    };
    attempt().catch(() => this.#takeBacks.retry(`${recordKey}\n${value}`, untilMs, attempt));
  }

  /** RESTORE_RECORD on a key already prefixed. */
  #restore(recordKey: string, current: string, previous: SavedRecord | null): Promise<unknown> {
    const ttl = previous?.ttlMs === undefined ? '' : toRedisMs(previous.ttlMs);
    return runScript(
      this.#client,
      RESTORE_RECORD,
      [recordKey],
      [current, previous?.value ?? '', ttl, previous ? '1' : '0'],
    );
  }

  async delete(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.#run(() => this.#client.del(...keys.map((key) => this.#key(key))));
  }

  #key(key: string): string {
    return this.#keyPrefix + key;
  }

  #run<T>(operation: () => Promise<T>, options?: RedisCommandOptions<T>): Promise<T> {
    return runRedisCommand(this.#client, this.#timeoutMs, operation, options);
  }
}

/** A REPLACE_UNLESS_RUNNING reply, read whatever the server sent. */
function readReplace(reply: unknown): UnderLockReplace {
  const [outcome, previous, ttl] = Array.isArray(reply) ? reply : [];
  if (outcome === 0) return { kind: 'running' };
  if (outcome !== 1) return { kind: 'not-locked' };
  if (typeof previous !== 'string') return { kind: 'stored', previous: null };
  const left = Number(ttl);
  return { kind: 'stored', previous: left > 0 ? { value: previous, ttlMs: left } : { value: previous } };
}

/**
 * A Stream row as an entry. Anything that is not what `append` writes (another id form, another
 * field) comes back with `seq` NaN or an empty payload, which `TurnLog` rejects as invalid.
 */
function toEntry(row: [id: string, fields: string[]]): TurnLogEntry {
  const [id, fields] = row;
  const match = /^0-(\d+)$/.exec(id);
  const seq = match ? Number(match[1]) : Number.NaN;
  const payload = fields[0] === 'p' && typeof fields[1] === 'string' ? fields[1] : '';
  return { seq, payload };
}
