import type { ChatStorage } from '../storage.js';
import type { RedisBackendOptions, RedisClientLike, RedisSubscriberLike } from './redis-client.js';
import { resolveRedisOptions } from './redis-command.js';
import { RedisConversationBackend } from './redis-conversation-backend.js';
import { RedisLockBackend } from './redis-lock-backend.js';
import { RedisMessageBus } from './redis-message-bus.js';
import { redisRateWindow } from './redis-rate-window.js';
import { RedisSessionBackend } from './redis-session-backend.js';
import { RedisTurnBackend } from './redis-turn-backend.js';
import { RedisUsageBackend } from './redis-usage-backend.js';

/** Options of {@link redisStorage}. */
export interface RedisStorageOptions extends RedisBackendOptions {
  /**
   * The connection the message bus subscribes through; the library puts it in subscriber mode
   * and never quits it. When omitted, the first subscription creates one with
   * `client.duplicate()` (same settings as the host's client), and `storage.close()` closes it.
   * @default undefined (a duplicate of `client`, made on first use)
   */
  subscriber?: RedisSubscriberLike;
}

/**
 * Storage in Redis, over a client the host created and owns: any process can then serve any
 * user, and one user's turns are serialized across processes. The library never connects,
 * configures or quits this client; `close()` leaves it open.
 *
 * Commands wait at most `operationTimeoutMs` and fail at once while the client is disconnected,
 * both as `BACKEND_UNAVAILABLE` (HTTP 503). A `lazyConnect` client must be connected by the host
 * (`await redis.connect()`) before use. Works with `Redis` and `Cluster`: every key of one user
 * carries the user's hash tag, so it lives in one slot.
 *
 * @example
 * import Redis from 'ioredis';
 * import { redisStorage } from 'mcp-llmchat/redis';
 * const redis = new Redis(redisUrl);
 * const storage = redisStorage(redis, { keyPrefix: 'llmchat:' });
 * const handler = createChatHandler({ authenticate, models, storage });
 * // On shutdown (the bus's subscriber connection would keep the process alive):
 * // await handler.close(); await storage.close(); await redis.quit();
 */
export function redisStorage(client: RedisClientLike, options: RedisStorageOptions = {}): ChatStorage {
  const resolved = resolveRedisOptions(options);
  const bus = new RedisMessageBus(client, {
    ...resolved,
    ...(options.subscriber === undefined ? {} : { subscriber: options.subscriber }),
  });
  const locks = new RedisLockBackend(client, resolved);
  const sessions = new RedisSessionBackend(client, resolved);
  return {
    sessions,
    conversations: new RedisConversationBackend(client, { ...resolved, sessions }),
    locks,
    bus,
    usage: new RedisUsageBackend(client, resolved),
    rateWindows: redisRateWindow(client, resolved),
    turns: new RedisTurnBackend(client, { ...resolved, locks }),
    close: async () => {
      await Promise.all([bus.close(), locks.close()]);
    },
  };
}
