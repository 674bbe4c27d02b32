import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createChatHandler } from '../../src/http/create-chat-handler.js';
import { redisStorage } from '../../src/redis/redis-storage.js';
import { memoryStorage } from '../../src/storage.js';
import type { UsageBackend } from '../../src/usage/usage-backend.js';
import { jsonRequest, startStack } from '../http/stack.js';

/** A TCP port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === 'object' && address !== null ? address.port : 0;
}

describe('limits and usage when the storage fails', () => {
  it('answers 503 BACKEND_UNAVAILABLE, not 429 or 500, when Redis is down, and /usage too', async () => {
    const down = new Redis({ host: '127.0.0.1', port: await closedPort(), lazyConnect: true });
    down.on('error', () => {});
    const handler = createChatHandler({
      authenticate: () => ({ id: 'ann' }),
      models: [{ id: 'fake', provider: 'openai_compatible', baseUrl: 'http://127.0.0.1:9/v1' }],
      storage: redisStorage(down, { keyPrefix: 'llmchat-test:down:' }),
      usage: true,
      limits: { requests: { limit: 5, windowMs: 60_000 }, tokensPerDay: 100 },
    });
    try {
      const chat = await handler.fetch(jsonRequest('/chat', 'ann', { message: 'hi', streaming: false }));
      expect(chat.status).toBe(503);
      expect(await chat.json()).toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
      const usage = await handler.fetch(jsonRequest('/usage/ann', 'ann'));
      expect(usage.status).toBe(503);
      expect(await usage.json()).toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
    } finally {
      await handler.close();
      down.disconnect();
    }
  });

  it('keeps a turn whose usage cannot be written, and logs it', async () => {
    const storage = memoryStorage();
    const failing: UsageBackend = {
      add: () => Promise.reject(new Error('disk full')),
      read: async (keys) => keys.map(() => ({})),
    };
    const warnings: string[] = [];
    const stack = await startStack({
      storage: { ...storage, usage: failing },
      usage: true,
      logger: { warn: (message) => warnings.push(message) },
    });
    try {
      expect((await stack.handler.fetch(jsonRequest('/connect', 'ann', { llm: { model: 'fake' } }))).status).toBe(200);
      const response = await stack.handler.fetch(jsonRequest('/chat', 'ann', { message: 'hi', streaming: false }));
      expect(response.status).toBe(200);
      expect(((await response.json()) as { response: string }).response).toBe('Hello from the fake.');
      await expect.poll(() => warnings.filter((w) => w === 'could not record usage').length).toBe(2);
    } finally {
      await stack.close();
      await storage.close();
    }
  });
});
