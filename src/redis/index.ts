/**
 * `mcp-llmchat/redis`: storage in Redis over the host's ioredis client, for several processes.
 * @packageDocumentation
 */
export type { RedisBackendOptions, RedisClientLike, RedisSubscriberLike } from './redis-client.js';
export { RedisConversationBackend, type RedisConversationBackendOptions } from './redis-conversation-backend.js';
export { RedisLockBackend } from './redis-lock-backend.js';
export { redisRateWindow } from './redis-rate-window.js';
export { RedisSessionBackend } from './redis-session-backend.js';
export { type RedisStorageOptions, redisStorage } from './redis-storage.js';
export { RedisTurnBackend, type RedisTurnClientLike } from './redis-turn-backend.js';
export { RedisUsageBackend } from './redis-usage-backend.js';
