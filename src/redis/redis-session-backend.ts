import type { AppendToListOptions, SessionBackend, StoredValue } from '../session/session-backend.js';
import type { RedisBackendOptions, RedisClientLike } from './redis-client.js';
import { resolveRedisOptions, runRedisCommand, toRedisMs } from './redis-command.js';
import { APPEND_TO_LIST, GET_WITH_LIST, runScript, TAKE_IF_EQUAL, TAKE_VALUE } from './redis-scripts.js';
import { noneOfWrongType } from './wrong-type.js';

/**
 * A {@link SessionBackend} over the host's ioredis client. Every key gets `keyPrefix`; TTLs are
 * set in milliseconds (`PX` / `PEXPIRE`); the list append is one Lua script, so a chat turn's
 * write is a single round trip and concurrent appends from several processes never lose an entry.
 *
 * Every operation fails with `BACKEND_UNAVAILABLE` at once while the client is disconnected,
 * and after `operationTimeoutMs` when Redis does not answer.
 *
 * @example
 * const backend = new RedisSessionBackend(new Redis(redisUrl), { keyPrefix: 'myapp:chat:' });
 */
export class RedisSessionBackend implements SessionBackend {
  readonly #client: RedisClientLike;
  readonly #keyPrefix: string;
  readonly #timeoutMs: number;

  constructor(client: RedisClientLike, options: RedisBackendOptions = {}) {
    const resolved = resolveRedisOptions(options);
    this.#client = client;
    this.#keyPrefix = resolved.keyPrefix;
    this.#timeoutMs = resolved.operationTimeoutMs;
  }

  /** The Redis key that holds `key`. */
  redisKey(key: string): string {
    return this.#key(key);
  }

  get(key: string): Promise<string | null> {
    return this.#run(() => this.#client.get(this.#key(key)).catch(noneOfWrongType(null)));
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    await this.#run(() => this.#client.set(this.#key(key), value, 'PX', toRedisMs(ttlMs)));
  }

  delete(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return Promise.resolve(0);
    return this.#run(() => this.#client.del(...keys.map((key) => this.#key(key))));
  }

  async touch(key: string, ttlMs: number): Promise<boolean> {
    return (await this.#run(() => this.#client.pexpire(this.#key(key), toRedisMs(ttlMs)))) === 1;
  }

  async take(key: string): Promise<string | null> {
    const value = await this.#run(() => runScript(this.#client, TAKE_VALUE, [this.#key(key)], []));
    return typeof value === 'string' ? value : null;
  }

  async takeIfEqual(key: string, expected: string, replacement?: StoredValue): Promise<boolean> {
    const own = this.#key(key);
    const keys = [own, replacement ? this.#key(replacement.key) : own];
    const args = replacement
      ? [expected, '1', replacement.value, toRedisMs(replacement.ttlMs)]
      : [expected, '0', '', 0];
    const reply = await this.#run(() => runScript(this.#client, TAKE_IF_EQUAL, keys, args));
    return reply === 1;
  }

  getList(key: string): Promise<string[]> {
    return this.#run(() => this.#client.lrange(this.#key(key), 0, -1).catch(noneOfWrongType([])));
  }

  async getWithList(key: string, listKey: string): Promise<[string | null, string[]]> {
    const reply = await this.#run(() =>
      runScript(this.#client, GET_WITH_LIST, [this.#key(key), this.#key(listKey)], []),
    );
    // Whatever the server answered, only a string value and an array of strings pass.
    const [value, list] = Array.isArray(reply) ? reply : [];
    return [
      typeof value === 'string' ? value : null,
      Array.isArray(list) ? list.filter((entry): entry is string => typeof entry === 'string') : [],
    ];
  }

  async appendToList(key: string, values: readonly string[], options: AppendToListOptions): Promise<boolean> {
    const touch = options.touch ?? [];
    const guard = options.onlyIf;
    const keys = [
      this.#key(key),
      ...touch.map((entry) => this.#key(entry.key)),
      ...(guard ? [this.#key(guard.key)] : []),
    ];
    const args = [
      toRedisMs(options.ttlMs),
      options.maxLength ?? 0,
      touch.length,
      guard ? 1 : 0,
      guard?.contains ?? '',
      values.length,
      ...values,
      ...touch.map((entry) => toRedisMs(entry.ttlMs)),
    ];
    return (await this.#run(() => runScript(this.#client, APPEND_TO_LIST, keys, args))) === 1;
  }

  #key(key: string): string {
    return this.#keyPrefix + key;
  }

  #run<T>(operation: () => Promise<T>): Promise<T> {
    return runRedisCommand(this.#client, this.#timeoutMs, operation);
  }
}
