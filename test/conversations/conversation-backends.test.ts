import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe } from 'vitest';
import { MemoryConversationBackend } from '../../src/conversations/memory-conversation-backend.js';
import { RedisConversationBackend } from '../../src/redis/redis-conversation-backend.js';
import { conversationEntriesKey } from '../../src/session/session-keys.js';
import { runConversationBackendContract } from '../contract/conversation-backend.contract.js';
import { deletePrefix, REDIS_URL, requireRedis } from '../fixtures/shared-redis.js';

const PREFIX = `llmchat-test:${randomUUID()}:`;
const available = await requireRedis('Redis conversation backend tests');
const clients: Redis[] = [];

afterAll(async () => {
  if (clients[0]) await deletePrefix(clients[0], PREFIX);
  await Promise.all(clients.map((client) => client.quit()));
});

/** A clock that starts at 0 and moves only when the suite says so. */
function testClock() {
  let now = 0;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

runConversationBackendContract(
  'memory',
  async () => {
    const clock = testClock();
    const backend = new MemoryConversationBackend(clock.now);
    // The memory backend holds parsed entries: junk can only come from a shared store.
    return { backend, advance: clock.advance };
  },
  { storesText: false },
);

describe.skipIf(!available)('redis', () => {
  runConversationBackendContract(
    'redis',
    async () => {
      const client = new Redis(REDIS_URL);
      clients.push(client);
      const clock = testClock();
      const backend = new RedisConversationBackend(client, { keyPrefix: PREFIX, now: clock.now });
      return {
        backend,
        advance: clock.advance,
        corrupt: async (userId, conversationId) => {
          await client.hset(PREFIX + conversationEntriesKey(userId), conversationId, '{"t":');
        },
      };
    },
    { storesText: true },
  );
});
