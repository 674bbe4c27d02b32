import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { redisStorage } from '../../src/redis/redis-storage.js';
import { type ChatStorage, memoryStorage } from '../../src/storage.js';
import { deletePrefix, REDIS_URL, requireRedis } from '../fixtures/shared-redis.js';
import { jsonRequest, type Stack, startStack } from '../http/stack.js';
import { SseReader } from '../turns/turn-helpers.js';

const PREFIX = `llmchat-test:${randomUUID()}:`;
const redisAvailable = await requireRedis('stopping and deleting conversations on Redis');
const redis = redisAvailable ? new Redis(REDIS_URL) : undefined;

afterAll(async () => {
  if (redis) {
    await deletePrefix(redis, PREFIX);
    await redis.quit();
  }
});

const backends: Array<[string, () => ChatStorage]> = [['memory', () => memoryStorage()]];
if (redis) backends.push(['redis', () => redisStorage(redis, { keyPrefix: PREFIX })]);

describe.each(backends)('stopping and deleting a running conversation (%s)', (_name, makeStorage) => {
  let stack: Stack | undefined;
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  async function startSlowTurn(who: string, conversationId: string): Promise<SseReader> {
    const handler = stack!.handler;
    expect((await handler.fetch(jsonRequest('/connect', who, { llm: { model: 'fake' } }))).status).toBe(200);
    const reader = new SseReader(
      await handler.fetch(
        jsonRequest('/chat', who, { message: 'tell it slowly', streaming: true, conversation_id: conversationId }),
      ),
    );
    await reader.until(3);
    return reader;
  }
  const history = async (who: string, conversationId: string) =>
    (await (await stack!.handler.fetch(jsonRequest(`/history/${who}?conversation_id=${conversationId}`, who))).json())
      .messages;

  it('saves a turn stopped with POST /stop as stopped, not interrupted', async () => {
    stack = await startStack({ storage: makeStorage() });
    const ann = `u-${randomUUID()}`;
    const reader = await startSlowTurn(ann, 'story');
    const stopped = await stack.handler.fetch(jsonRequest('/stop', ann, { conversation_id: 'story' }));
    expect(await stopped.json()).toMatchObject({ status: 'stopped' });
    const frames = await reader.all();
    expect(frames.at(-1)).toMatchObject({ event: 'final', data: { stopped: true } });
    const [, answer] = await history(ann, 'story');
    expect(answer).toMatchObject({ role: 'assistant', stopped: true });
    expect(answer).not.toHaveProperty('interrupted');
    expect(answer.content).toBe(frames.at(-1)?.data.content);
  });

  it('deletes a conversation while it answers: the turn stops, its history and its events are gone', async () => {
    stack = await startStack({ storage: makeStorage() });
    const ann = `u-${randomUUID()}`;
    const reader = await startSlowTurn(ann, 'doomed');
    const deleted = await stack.handler.fetch(
      jsonRequest(`/history/${ann}?conversation_id=doomed`, ann, undefined, 'DELETE'),
    );
    expect(deleted.status).toBe(200);
    expect((await reader.all()).at(-1)).toMatchObject({ event: 'final', data: { stopped: true } });
    expect(await history(ann, 'doomed')).toEqual([]);
    const list = await (await stack.handler.fetch(jsonRequest(`/conversations/${ann}`, ann))).json();
    expect(list.conversations).toEqual([]);
    // Nothing is left to follow: the events of the stopped turn went with the conversation.
    expect((await stack.handler.fetch(jsonRequest(`/chat/events/${ann}?conversation_id=doomed`, ann))).status).toBe(
      204,
    );
  });
});
