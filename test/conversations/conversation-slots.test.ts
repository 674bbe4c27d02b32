import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ConversationSlots } from '../../src/conversations/conversation-slots.js';
import { createChatHandler } from '../../src/http/create-chat-handler.js';
import { LockManager } from '../../src/lock/lock-manager.js';
import { redisStorage } from '../../src/redis/redis-storage.js';
import { type ChatStorage, memoryStorage } from '../../src/storage.js';
import { deletePrefix, REDIS_URL, requireRedis } from '../fixtures/shared-redis.js';
import { jsonRequest, type Stack, startStack } from '../http/stack.js';
import { SseReader } from '../turns/turn-helpers.js';

const PREFIX = `llmchat-test:${randomUUID()}:`;
const redisAvailable = await requireRedis('conversation slots on Redis');
const redis = redisAvailable ? new Redis(REDIS_URL) : undefined;

afterAll(async () => {
  if (redis) {
    await deletePrefix(redis, PREFIX);
    await redis.quit();
  }
});

const backends: Array<[string, () => ChatStorage]> = [['memory', () => memoryStorage()]];
if (redis) backends.push(['redis', () => redisStorage(redis, { keyPrefix: PREFIX })]);

describe.each(backends)('maxConcurrentConversations (%s)', (_name, makeStorage) => {
  let stack: Stack | undefined;
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  it('hands out at most max slots per user, and a released one again', async () => {
    const storage = makeStorage();
    const slots = new ConversationSlots(new LockManager(storage.locks), 2, 5000);
    const user = `u-${randomUUID()}`;
    const first = await slots.take(user);
    const second = await slots.take(user);
    await expect(slots.take(user)).rejects.toMatchObject({ code: 'TURN_IN_PROGRESS' });
    // Another user has slots of their own.
    const other = await slots.take(`u-${randomUUID()}`);
    expect(other).not.toBeNull();
    await first?.release();
    const third = await slots.take(user);
    expect(third).not.toBeNull();
    await Promise.all([second?.release(), third?.release(), other?.release()]);
  });

  it('takes no slot when unlimited, and refuses a bad cap at start-up', async () => {
    const locks = new LockManager(makeStorage().locks);
    const unlimited = new ConversationSlots(locks, Number.POSITIVE_INFINITY, 5000);
    expect(await Promise.all([1, 2, 3].map(() => unlimited.take('u')))).toEqual([null, null, null]);
    for (const bad of [0, 1.5, -1, Number.NaN]) {
      expect(() => new ConversationSlots(locks, bad, 5000)).toThrow(/maxConcurrentConversations/);
      expect(() =>
        createChatHandler({
          authenticate: () => null,
          models: [{ id: 'm', provider: 'openai_compatible', baseUrl: 'http://127.0.0.1:9/v1' }],
          maxConcurrentConversations: bad,
        }),
      ).toThrow(/maxConcurrentConversations must be a whole number/);
    }
  });

  it('answers 409 TURN_IN_PROGRESS to a turn in a conversation past the cap, until one ends', async () => {
    stack = await startStack({ storage: makeStorage(), maxConcurrentConversations: 1 });
    const ann = `u-${randomUUID()}`;
    const handler = stack.handler;
    expect((await handler.fetch(jsonRequest('/connect', ann, { llm: { model: 'fake' } }))).status).toBe(200);
    const running = await handler.fetch(
      jsonRequest('/chat', ann, { message: 'tell it slowly', streaming: true, conversation_id: 'one' }),
    );
    const reader = new SseReader(running);
    await reader.until(2);
    const refused = await handler.fetch(jsonRequest('/chat', ann, { message: 'hi', conversation_id: 'two' }));
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({ code: 'TURN_IN_PROGRESS' });
    // The default conversation counts too.
    expect((await handler.fetch(jsonRequest('/chat', ann, { message: 'hi' }))).status).toBe(409);
    expect((await reader.all()).at(-1)?.event).toBe('final');
    // The ended turn gave its slot back, and the refused ones left none held.
    const next = await handler.fetch(jsonRequest('/chat', ann, { message: 'hi', conversation_id: 'two' }));
    expect(next.status).toBe(200);
    expect((await next.json()).response).toBe('Hello from the fake.');
  });
});
