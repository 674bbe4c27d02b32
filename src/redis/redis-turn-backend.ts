import { assertEntriesInOrder, entriesOutOfOrder } from '../turns/entries-in-order.js';
import type {
  SavedRecord,
  TurnAppendOptions,
  TurnBackend,
  TurnLogEntry,
  UnderLockReplace,
} from '../turns/turn-backend.js';
import type { RedisBackendOptions, RedisClientLike } from './redis-client.js';
import { resolveRedisOptions, runRedisCommand, toRedisMs } from './redis-command.js';
import type { RedisLockBackend } from './redis-lock-backend.js';
import { runScript } from './redis-scripts.js';
import {
  APPEND_TURN_EVENTS,
  RAISE_TURN_FENCE,
  REPLACE_UNLESS_RUNNING,
  RESTORE_RECORD,
  SET_IF_ABSENT,
} from './redis-turn-scripts.js';

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
 *
 * @example
 * const turns = new RedisTurnBackend(new Redis(redisUrl), { keyPrefix: 'myapp:chat:' });
 */
export class RedisTurnBackend implements TurnBackend {
  readonly #client: RedisTurnClientLike;
  readonly #keyPrefix: string;
  readonly #timeoutMs: number;
  readonly #locks: RedisTurnBackendOptions['locks'];

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
      this.#client.xrange(this.#key(key), `0-${Math.max(0, afterSeq) + 1}`, '+', 'COUNT', limit),
    );
    return rows.map(toEntry);
  }

  async last(key: string): Promise<TurnLogEntry | null> {
    const rows = await this.#run(() => this.#client.xrevrange(this.#key(key), '+', '-', 'COUNT', 1));
    const row = rows[0];
    return row === undefined ? null : toEntry(row);
  }

  get(key: string): Promise<string | null> {
    return this.#run(() => this.#client.get(this.#key(key)));
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
    return (await this.#replace([this.#key(key)], [value, toRedisMs(ttlMs), String(runningSince)])).kind === 'stored';
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
    const keys = [this.#key(key), locks.redisKey(lock.key)];
    return this.#replace(keys, [value, toRedisMs(ttlMs), String(runningSince), lock.token]);
  }

  /** REPLACE_UNLESS_RUNNING, its reply read whatever the server sent. */
  async #replace(keys: string[], args: Array<string | number>): Promise<UnderLockReplace> {
    const reply = await this.#run(() => runScript(this.#client, REPLACE_UNLESS_RUNNING, keys, args));
    const [outcome, previous, ttl] = Array.isArray(reply) ? reply : [];
    if (outcome === 0) return { kind: 'running' };
    if (outcome !== 1) return { kind: 'not-locked' };
    if (typeof previous !== 'string') return { kind: 'stored', previous: null };
    const left = Number(ttl);
    return { kind: 'stored', previous: left > 0 ? { value: previous, ttlMs: left } : { value: previous } };
  }

  async restoreRecord(key: string, current: string, previous: SavedRecord | null): Promise<void> {
    const ttl = previous?.ttlMs === undefined ? '' : toRedisMs(previous.ttlMs);
    await this.#run(() =>
      runScript(
        this.#client,
        RESTORE_RECORD,
        [this.#key(key)],
        [current, previous?.value ?? '', ttl, previous ? '1' : '0'],
      ),
    );
  }

  async delete(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.#run(() => this.#client.del(...keys.map((key) => this.#key(key))));
  }

  #key(key: string): string {
    return this.#keyPrefix + key;
  }

  #run<T>(operation: () => Promise<T>): Promise<T> {
    return runRedisCommand(this.#client, this.#timeoutMs, operation);
  }
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
