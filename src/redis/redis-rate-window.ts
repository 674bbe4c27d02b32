import { FlexibleRateWindow } from '../limits/flexible-rate-window.js';
import type { RateWindowBackend } from '../limits/rate-window-backend.js';
import type { RedisBackendOptions, RedisClientLike } from './redis-client.js';
import { resolveRedisOptions, runRedisCommand } from './redis-command.js';
import { isWrongType } from './wrong-type.js';

/**
 * Request windows in Redis, shared by every process: rate-limiter-flexible's `RateLimiterRedis`,
 * whose one Lua script (SET NX + INCRBY + PTTL) counts atomically. It is handed a small client
 * of ours instead of the host's, so nothing is defined on the host's client (the library would
 * otherwise `defineCommand` on it), and the backends' fail-fast and timeout rules apply. The
 * window's key has no hash tag: it is one key, so Redis Cluster is fine. `redisStorage` builds
 * one; build it yourself for a custom `ChatStorage`.
 *
 * @example
 * const storage = { ...myStorage, rateWindows: redisRateWindow(redis, { keyPrefix: 'myapp:' }) };
 */
export function redisRateWindow(client: RedisClientLike, options: RedisBackendOptions = {}): RateWindowBackend {
  const { keyPrefix, operationTimeoutMs } = resolveRedisOptions(options);
  return new FlexibleRateWindow(async (points, duration) => {
    const { RateLimiterRedis } = await import('rate-limiter-flexible');
    // rate-limiter-flexible, told it has a node-redis client, sends its own atomic script through
    // `eval(script, { keys, arguments })`; ours runs it on the host's ioredis client.
    const storeClient = {
      eval(script: string, call: { keys: string[]; arguments: string[] }) {
        const count = () => client.eval(script, call.keys.length, ...call.keys, ...call.arguments);
        const startOver = async () => {
          await client.del(...call.keys);
          return count();
        };
        return runRedisCommand(client, operationTimeoutMs, async () => {
          let counted: unknown;
          try {
            counted = await count();
          } catch (error) {
            // A window key holding junk (another type, or a string that is no count) fails its
            // INCRBY before the script sets a TTL, so it would fail every request of its user
            // for ever: the window is ours, and starts over.
            if (!isJunkReply(error)) throw error;
            return startOver();
          }
          // Each request adds at least one to its window, so a count under one started from junk
          // (a negative number), which would let its user past the limit for a whole window.
          return isCountBelowOne(counted) ? startOver() : counted;
        });
      },
    };
    const limiter = new RateLimiterRedis({
      storeClient,
      useRedisPackage: true,
      points,
      duration,
      keyPrefix: `${keyPrefix}limits:req:${points}:${duration}`,
    });
    return limiter;
  });
}

/** Redis's answer to a command on a key whose value is not of the kind it works on. */
function isJunkReply(error: unknown): boolean {
  return isWrongType(error) || (error instanceof Error && error.message.includes('value is not an integer'));
}

/** Whether the script's `{consumed, ttl}` answer counts less than one request. */
function isCountBelowOne(reply: unknown): boolean {
  return Array.isArray(reply) && typeof reply[0] === 'number' && reply[0] < 1;
}
