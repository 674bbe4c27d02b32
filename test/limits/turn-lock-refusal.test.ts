import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createChatHandler } from '../../src/http/create-chat-handler.js';
import { redisStorage } from '../../src/redis/redis-storage.js';
import { deletePrefix, REDIS_URL, requireRedis } from '../fixtures/shared-redis.js';

// Found by the cross-process limits test: on Redis, a turn lock refused (409) before the session
// read answered left a rejected promise unhandled for a moment, which crashes a Node process run
// with the default --unhandled-rejections=throw. Vitest fails a run with an unhandled rejection.
const PREFIX = `llmchat-test:lockrace:${randomUUID()}:`;
const available = await requireRedis('Turn lock refusal on Redis');
const redis = new Redis(REDIS_URL);

afterAll(async () => {
  await deletePrefix(redis, PREFIX);
  await redis.quit();
});

describe.skipIf(!available)('a refused turn lock on Redis', () => {
  it('answers every concurrent request and leaves no rejection unhandled', async () => {
    const handler = createChatHandler({
      authenticate: () => ({ id: 'dora' }),
      models: [{ id: 'fake', provider: 'openai_compatible', baseUrl: 'http://127.0.0.1:9/v1' }],
      storage: redisStorage(redis, { keyPrefix: PREFIX }),
    });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const statuses = await Promise.all(
        Array.from({ length: 60 }, () =>
          handler
            .fetch(
              new Request('http://local/chat', {
                method: 'POST',
                headers: { 'content-type': 'application/json' },
                body: JSON.stringify({ message: 'hi', streaming: false }),
              }),
            )
            .then((response) => response.status),
        ),
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(statuses.every((status) => status === 400 || status === 409)).toBe(true);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await handler.close();
    }
  });
});
