import type { Storage } from '../storage.js';
import type { RedisBackendOptions, RedisClientLike } from './redis-client.js';
import { RedisLockBackend } from './redis-lock-backend.js';
import { RedisSessionBackend } from './redis-session-backend.js';
import { RedisTurnBackend } from './redis-turn-backend.js';

/** Options of {@link redisStorage}. */
export type RedisStorageOptions = RedisBackendOptions;

/**
 * Storage in Redis, over a client the host created and owns: any process can then serve any
 * user, and one user's turns are serialized across processes. The library never connects,
 * configures or quits this client; `close()` leaves it open.
 *
 * Commands wait at most `operationTimeoutMs` and fail at once while the client is disconnected,
 * both as `BACKEND_UNAVAILABLE` (HTTP 503). A `lazyConnect` client must be connected by the host
 * (`await redis.connect()`) before use. Works with `Redis` and `Cluster` (keys are hash-tagged).
 *
 * @example
 * import Redis from 'ioredis';
 * import { redisStorage } from 'mcp-llmchat/redis';
 * const redis = new Redis(redisUrl);
 * const handler = createChatHandler({ authenticate, models, storage: redisStorage(redis, { keyPrefix: 'llmchat:' }) });
 * // on shutdown: await handler.close(); await redis.quit();
 */
export function redisStorage(client: RedisClientLike, options: RedisStorageOptions = {}): Storage {
  return {
    sessions: new RedisSessionBackend(client, options),
    locks: new RedisLockBackend(client, options),
    turns: new RedisTurnBackend(client, options),
    close: async () => {},
  };
}
