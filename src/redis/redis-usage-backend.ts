import type { CounterAddition, UsageBackend } from '../usage/usage-backend.js';
import { MAX_COUNTER, toCounterAmount, toStoredCounter } from '../usage/usage-counts.js';
import type { RedisBackendOptions, RedisClientLike } from './redis-client.js';
import { resolveRedisOptions, runRedisCommand, toRedisMs } from './redis-command.js';
import { ADD_COUNTERS, READ_COUNTERS, runScript } from './redis-usage-scripts.js';

/**
 * A {@link UsageBackend} over the host's ioredis client: each user's counters are hashes whose
 * keys share a hash tag, updated by one Lua script per addition, so concurrent processes never
 * lose a count and a write is never left half done. Junk found in the counters is repaired by
 * the next write (see `ADD_COUNTERS`). Only EVAL/EVALSHA are sent to the client.
 *
 * @example
 * const usage = new RedisUsageBackend(new Redis(redisUrl), { keyPrefix: 'myapp:chat:' });
 */
export class RedisUsageBackend implements UsageBackend {
  readonly #client: RedisClientLike;
  readonly #keyPrefix: string;
  readonly #timeoutMs: number;

  constructor(client: RedisClientLike, options: RedisBackendOptions = {}) {
    const resolved = resolveRedisOptions(options);
    this.#client = client;
    this.#keyPrefix = resolved.keyPrefix;
    this.#timeoutMs = resolved.operationTimeoutMs;
  }

  async add(additions: readonly CounterAddition[]): Promise<void> {
    if (additions.length === 0) return;
    const keys = additions.map((addition) => this.#keyPrefix + addition.key);
    const args: (string | number)[] = [];
    for (const { fields, ttlMs } of additions) {
      const entries = Object.entries(fields);
      // Whole numbers up to MAX_COUNTER print as plain digits, the only form the script takes.
      args.push(Math.min(MAX_COUNTER, toRedisMs(ttlMs)), entries.length);
      for (const [field, amount] of entries) args.push(field, toCounterAmount(amount));
    }
    await runRedisCommand(this.#client, this.#timeoutMs, () => runScript(this.#client, ADD_COUNTERS, keys, args));
  }

  async read(keys: readonly string[]): Promise<Record<string, number>[]> {
    if (keys.length === 0) return [];
    const raw = await runRedisCommand(this.#client, this.#timeoutMs, () =>
      runScript(
        this.#client,
        READ_COUNTERS,
        keys.map((key) => this.#keyPrefix + key),
        [],
      ),
    );
    return keys.map((_, index) => toCounters((raw as unknown[])[index]));
  }
}

// HGETALL's flat [field, value, …]; anything else (a corrupt or foreign value) counts as empty.
// A junk field reads as the figure the next write repairs it to, so a budget sees what is kept.
function toCounters(flat: unknown): Record<string, number> {
  const counters: Record<string, number> = {};
  if (!Array.isArray(flat)) return counters;
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const value = toStoredCounter(Number(flat[i + 1]));
    if (value !== undefined) counters[String(flat[i])] = value;
  }
  return counters;
}
