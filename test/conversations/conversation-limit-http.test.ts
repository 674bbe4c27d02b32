import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { redisStorage } from '../../src/redis/redis-storage.js';
import { type ChatStorage, memoryStorage } from '../../src/storage.js';
import { deletePrefix, REDIS_URL, requireRedis } from '../fixtures/shared-redis.js';
import { jsonRequest, type Stack, startStack } from '../http/stack.js';

// maxConversations over HTTP: one user cannot fill the storage with conversations. A first turn
// in one too many is 409 CONVERSATION_LIMIT before anything is stored; the others go on.

const PREFIX = `llmchat-test:${randomUUID()}:`;
const available = await requireRedis('conversation limit over HTTP on Redis');
const redis = available ? new Redis(REDIS_URL) : undefined;

afterAll(async () => {
  if (redis) {
    await deletePrefix(redis, PREFIX);
    await redis.quit();
  }
});

const storages: Array<[string, () => ChatStorage]> = [['memory', () => memoryStorage({ maxEntries: 40 })]];
if (redis) storages.push(['redis', () => redisStorage(redis, { keyPrefix: PREFIX })]);

describe.each(storages)('maxConversations over HTTP (%s)', (_name, makeStorage) => {
  let stack: Stack | undefined;
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  it('refuses a turn in one conversation too many with 409 CONVERSATION_LIMIT, storing nothing of it', async () => {
    stack = await startStack({ storage: makeStorage(), maxConversations: 5 });
    const ann = `u-${randomUUID()}`;
    const chat = (message: string, conversationId?: string, streaming = false) =>
      stack!.handler.fetch(
        jsonRequest('/chat', ann, {
          message,
          streaming,
          ...(conversationId === undefined ? {} : { conversation_id: conversationId }),
        }),
      );
    expect((await stack.handler.fetch(jsonRequest('/connect', ann, { llm: { model: 'fake' } }))).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await chat(`hi ${i}`, `c${i}`)).status).toBe(200);
    const requestsBefore = stack.llm.requests.length;

    for (const streaming of [false, true]) {
      const refused = await chat('one more', 'c5', streaming);
      expect(refused.status).toBe(409);
      expect(await refused.json()).toEqual({
        code: 'CONVERSATION_LIMIT',
        detail: 'Too many conversations; delete one to start another.',
      });
    }
    expect(stack.llm.requests.length).toBe(requestsBefore);
    // Nothing of it stored: no history, no entry, no recorded turn.
    const history = await (await stack.handler.fetch(jsonRequest(`/history/${ann}?conversation_id=c5`, ann))).json();
    expect(history.messages).toEqual([]);
    expect((await stack.handler.fetch(jsonRequest(`/chat/events/${ann}?conversation_id=c5`, ann))).status).toBe(204);
    const listed = await (await stack.handler.fetch(jsonRequest(`/conversations/${ann}?limit=100`, ann))).json();
    expect(listed.conversations.map((entry: { conversation_id: string }) => entry.conversation_id).sort()).toEqual([
      'c0',
      'c1',
      'c2',
      'c3',
      'c4',
    ]);

    // Existing conversations and the default one go on.
    expect((await chat('again', 'c0')).status).toBe(200);
    expect((await chat('hello')).status).toBe(200);
    // Another user is not held back by Ann's.
    const bob = `u-${randomUUID()}`;
    expect((await stack.handler.fetch(jsonRequest('/connect', bob, { llm: { model: 'fake' } }))).status).toBe(200);
    // One deleted, one more may start.
    const deleted = await stack.handler.fetch(
      jsonRequest(`/history/${ann}?conversation_id=c1`, ann, undefined, 'DELETE'),
    );
    expect(deleted.status).toBe(200);
    expect((await chat('one more', 'c5')).status).toBe(200);
    expect((await chat('and another', 'c6')).status).toBe(409);
  });
});
