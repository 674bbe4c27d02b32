import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, expect, it } from 'vitest';
import { createChatHandler } from '../../src/http/create-chat-handler.js';
import { redisStorage } from '../../src/redis/redis-storage.js';
import { type ChatStorage, memoryStorage } from '../../src/storage.js';
import { startFakeOpenAI } from '../fixtures/fake-openai-server.js';
import { deletePrefix, REDIS_URL, requireRedis } from '../fixtures/shared-redis.js';
import { jsonRequest, type Stack, startStack } from '../http/stack.js';
import { SseReader } from '../turns/turn-helpers.js';

// Deleting a conversation stops its running turn on whichever process runs it, waits up to 5 s
// for its end, then removes the conversation. When the process running the turn never hears the
// stop (the bus lost it), the turn runs on past that wait: at its end it must not save itself,
// which would bring the deleted conversation back with one turn in it.

const PREFIX = `llmchat-test:${randomUUID()}:`;
const redisAvailable = await requireRedis('a deleted conversation on Redis');
const redis = redisAvailable ? new Redis(REDIS_URL) : undefined;
afterAll(async () => {
  if (!redis) return;
  await deletePrefix(redis, PREFIX);
  await redis.quit();
});

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

const backends: Array<[string, () => ChatStorage]> = [['memory', () => memoryStorage()]];
if (redis) backends.push(['redis', () => redisStorage(redis, { keyPrefix: PREFIX })]);

it.each(backends)(
  'a turn that outlives the delete of its conversation does not bring it back (%s)',
  async (_name, makeStorage) => {
    // About 7 s of answer: longer than the delete's 5 s wait.
    const slow = await startFakeOpenAI({
      reply: () => ({ kind: 'text', chunks: Array.from({ length: 350 }, (_, i) => `w${i} `), delayMs: 20 }),
    });
    closers.push(() => slow.close());
    const storage = makeStorage();
    closers.push(() => storage.close());
    // Two processes on one storage, whose bus loses every stop (and watch) message between them.
    const publish = storage.bus.publish.bind(storage.bus);
    storage.bus.publish = async (channel, message) => {
      if (channel.startsWith('turn-control:')) return;
      await publish(channel, message);
    };
    const stack: Stack = await startStack({
      storage,
      models: [{ id: 'slow', provider: 'openai_compatible', baseUrl: slow.url, apiKey: 'sk-test' }],
    });
    closers.push(() => stack.close());
    const elsewhere = createChatHandler(stack.options);
    closers.push(() => elsewhere.close());

    const ann = `u-${randomUUID()}`;
    expect((await stack.handler.fetch(jsonRequest('/connect', ann, { llm: { model: 'slow' } }))).status).toBe(200);
    const reader = new SseReader(
      await stack.handler.fetch(
        jsonRequest('/chat', ann, { message: 'hi', streaming: true, conversation_id: 'doomed' }),
      ),
    );
    await reader.until(3);

    const deleted = await elsewhere.fetch(
      jsonRequest(`/history/${ann}?conversation_id=doomed`, ann, undefined, 'DELETE'),
    );
    expect(deleted.status).toBe(200);
    // The turn never heard the stop: it answers to its end.
    const frames = await reader.all();
    expect(frames.at(-1)?.event).toBe('final');

    const history = await (await elsewhere.fetch(jsonRequest(`/history/${ann}?conversation_id=doomed`, ann))).json();
    expect(history.messages).toEqual([]);
    const list = await (await elsewhere.fetch(jsonRequest(`/conversations/${ann}`, ann))).json();
    expect(list.conversations).toEqual([]);
  },
  20_000,
);
