import type { LockBackend } from '../lock/lock-backend.js';
import type { RedisBackendOptions, RedisClientLike } from './redis-client.js';
import { type RedisCommandOptions, resolveRedisOptions, runRedisCommand, toRedisMs } from './redis-command.js';
import { EXTEND_LOCK, RELEASE_LOCK, runScript, TAKE_UNEXPIRING_LOCK } from './redis-scripts.js';
import { ReleaseRetrier } from './release-retrier.js';

// Lease ends are remembered per held token so a failed release is retried only while it can
// matter; past this many, ends already passed are pruned.
const PRUNE_ABOVE = 1000;

/**
 * A {@link LockBackend} over the host's ioredis client: `SET NX PX` to acquire, and single-key
 * Lua scripts (EVALSHA, EVAL on NOSCRIPT) that extend or delete the key only while it still holds
 * this holder's token. Keys live in a namespace apart from session data, `${keyPrefix}lock:`. A
 * lock key that carries a hash tag keeps it (`{u:alice}:turn` becomes
 * `${keyPrefix}lock:{u:alice}:turn`, in the same Cluster slot as the user's other keys); any
 * other key is escaped into a tag of its own (`${keyPrefix}lock:{${encodeURIComponent(key)}}`).
 *
 * A lock key without expiry is taken as free (every lease this backend writes has a TTL, so such
 * a key is junk left by someone else, and would otherwise hold the lock for ever).
 *
 * No lock is left behind by a Redis that stalls or fails over:
 * - an acquisition that timed out, but whose `SET` Redis ran later, is released as soon as the
 *   late reply arrives (nobody was told they hold it);
 * - a release that failed is retried in the background, with backoff, until it goes through or
 *   the lease has ended anyway. The failed call still rejects with `BACKEND_UNAVAILABLE`.
 *   While the client is stalled (a command timed out unanswered) a release fails at once too,
 *   rather than queue up: retried, it goes once the late commands have run, so a turn record
 *   taken back after its late write (`RedisTurnBackend`) is gone before its lock is free.
 *
 * @example
 * const locks = new LockManager(new RedisLockBackend(redis, { keyPrefix: 'myapp:chat:' }));
 */
export class RedisLockBackend implements LockBackend {
  readonly #client: RedisClientLike;
  readonly #keyPrefix: string;
  readonly #timeoutMs: number;
  readonly #retrier = new ReleaseRetrier();
  /** When each held lease (`key + token`) ends at the latest, as far as this process knows. */
  readonly #leaseEnds = new Map<string, number>();

  constructor(client: RedisClientLike, options: RedisBackendOptions = {}) {
    const resolved = resolveRedisOptions(options);
    this.#client = client;
    this.#keyPrefix = resolved.keyPrefix;
    this.#timeoutMs = resolved.operationTimeoutMs;
  }

  /** The Redis key that holds the lock `key`. */
  redisKey(key: string): string {
    return hasHashTag(key) ? `${this.#keyPrefix}lock:${key}` : `${this.#keyPrefix}lock:{${encodeURIComponent(key)}}`;
  }

  async tryAcquire(key: string, token: string, ttlMs: number): Promise<boolean> {
    const redisKey = this.redisKey(key);
    const ms = toRedisMs(ttlMs);
    const taken =
      (await this.#attempt(key, token, ttlMs, () => this.#client.set(redisKey, token, 'PX', ms, 'NX'))) === 'OK' ||
      // Held: unless by a key without expiry, which no holder of ours wrote (one round trip more,
      // only when the lock is taken).
      (await this.#attempt(key, token, ttlMs, () =>
        runScript(this.#client, TAKE_UNEXPIRING_LOCK, [redisKey], [token, ms]),
      )) === 1;
    if (taken) this.#held(key, token, ttlMs);
    return taken;
  }

  /** One attempt at taking the lock, freed at once if Redis runs it after we gave up on it. */
  #attempt<T>(key: string, token: string, ttlMs: number, operation: () => Promise<T>): Promise<T> {
    return this.#run(operation, {
      // Given up on, yet possibly still run by Redis later: free it the moment that shows. Any
      // late answer, not only a success: a command ioredis sent again after a reconnect may find
      // the key its first run set, and the release only deletes a key that holds this token.
      onTimeout: (sent) => {
        const free = () => this.#releaseInBackground(key, token, Date.now() + ttlMs);
        sent.then(free, free);
      },
    });
  }

  async extend(key: string, token: string, ttlMs: number): Promise<boolean> {
    // `=== 1`: ioredis-mock answers Lua nil/false as `false`, real Redis as `null` or 0.
    const extended =
      (await this.#run(() => runScript(this.#client, EXTEND_LOCK, [this.redisKey(key)], [token, toRedisMs(ttlMs)]))) ===
      1;
    if (extended) this.#held(key, token, ttlMs);
    return extended;
  }

  async release(key: string, token: string): Promise<boolean> {
    try {
      const released = await this.#releaseOnce(key, token);
      this.#leaseEnds.delete(leaseId(key, token));
      return released;
    } catch (error) {
      const endsAt = this.#leaseEnds.get(leaseId(key, token));
      if (endsAt !== undefined) this.#releaseInBackground(key, token, endsAt);
      throw error;
    }
  }

  forget(key: string, token: string): void {
    this.#leaseEnds.delete(leaseId(key, token));
  }

  /** Stops the background release retries (their leases then end by TTL). The client stays open. */
  async close(): Promise<void> {
    this.#retrier.close();
    this.#leaseEnds.clear();
  }

  #releaseOnce(key: string, token: string): Promise<boolean> {
    return this.#run(async () => (await runScript(this.#client, RELEASE_LOCK, [this.redisKey(key)], [token])) === 1);
  }

  #releaseInBackground(key: string, token: string, untilMs: number): void {
    const id = leaseId(key, token);
    this.#retrier.retry(id, untilMs, async () => {
      await this.#releaseOnce(key, token);
      this.#leaseEnds.delete(id);
    });
  }

  #held(key: string, token: string, ttlMs: number): void {
    const now = Date.now();
    if (this.#leaseEnds.size > PRUNE_ABOVE) {
      for (const [id, endsAt] of this.#leaseEnds) if (endsAt <= now) this.#leaseEnds.delete(id);
    }
    this.#leaseEnds.set(leaseId(key, token), now + ttlMs);
  }

  #run<T>(operation: () => Promise<T>, options?: RedisCommandOptions<T>): Promise<T> {
    return runRedisCommand(this.#client, this.#timeoutMs, operation, options);
  }
}

function leaseId(key: string, token: string): string {
  return `${token} ${key}`;
}

/** Whether Redis Cluster would hash `key` by a tag: a `{` followed later by a `}`, not empty between. */
function hasHashTag(key: string): boolean {
  const open = key.indexOf('{');
  if (open === -1) return false;
  const close = key.indexOf('}', open + 1);
  return close > open + 1;
}
