import type { LockBackend } from '../lock/lock-backend.js';
import type { RedisBackendOptions, RedisClientLike } from './redis-client.js';
import { resolveRedisOptions, runRedisCommand, toRedisMs } from './redis-command.js';
import { EXTEND_LOCK, RELEASE_LOCK, runScript } from './redis-scripts.js';

/**
 * A {@link LockBackend} over the host's ioredis client: `SET NX PX` to acquire, and single-key
 * Lua scripts (EVALSHA, EVAL on NOSCRIPT) that extend or delete the key only while it still holds
 * this holder's token. Keys live in a namespace apart from session data, `${keyPrefix}lock:`. A
 * lock key that carries a hash tag keeps it (`{u:alice}:turn` becomes
 * `${keyPrefix}lock:{u:alice}:turn`, in the same Cluster slot as the user's other keys); any
 * other key is escaped into a tag of its own (`${keyPrefix}lock:{${encodeURIComponent(key)}}`).
 *
 * @example
 * const locks = new LockManager(new RedisLockBackend(redis, { keyPrefix: 'myapp:chat:' }));
 */
export class RedisLockBackend implements LockBackend {
  readonly #client: RedisClientLike;
  readonly #keyPrefix: string;
  readonly #timeoutMs: number;

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
    const reply = await this.#run(() => this.#client.set(this.redisKey(key), token, 'PX', toRedisMs(ttlMs), 'NX'));
    return reply === 'OK';
  }

  async extend(key: string, token: string, ttlMs: number): Promise<boolean> {
    // `=== 1`: ioredis-mock answers Lua nil/false as `false`, real Redis as `null` or 0.
    return (
      (await this.#run(() => runScript(this.#client, EXTEND_LOCK, [this.redisKey(key)], [token, toRedisMs(ttlMs)]))) ===
      1
    );
  }

  async release(key: string, token: string): Promise<boolean> {
    return (await this.#run(() => runScript(this.#client, RELEASE_LOCK, [this.redisKey(key)], [token]))) === 1;
  }

  #run<T>(operation: () => Promise<T>): Promise<T> {
    return runRedisCommand(this.#client, this.#timeoutMs, operation);
  }
}

/** Whether Redis Cluster would hash `key` by a tag: a `{` followed later by a `}`, not empty between. */
function hasHashTag(key: string): boolean {
  const open = key.indexOf('{');
  if (open === -1) return false;
  const close = key.indexOf('}', open + 1);
  return close > open + 1;
}
