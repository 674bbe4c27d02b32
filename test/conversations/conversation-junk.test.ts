import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { ConversationBackend } from '../../src/conversations/conversation-backend.js';
import { Conversations } from '../../src/conversations/conversations.js';
import { MemoryConversationBackend } from '../../src/conversations/memory-conversation-backend.js';
import { LlmChatError } from '../../src/errors.js';
import { RedisConversationBackend } from '../../src/redis/redis-conversation-backend.js';
import { redisStorage } from '../../src/redis/redis-storage.js';
import { MemorySessionBackend } from '../../src/session/memory-session-backend.js';
import { conversationEntriesKey, conversationIndexKey } from '../../src/session/session-keys.js';
import { SessionStore } from '../../src/session/session-store.js';
import type { SessionConfig } from '../../src/types.js';
import { deletePrefix, REDIS_URL, requireRedis } from '../fixtures/shared-redis.js';
import { jsonRequest, type Stack, startStack } from '../http/stack.js';

// A turn whose history was saved is never reported failed because its list entry was not, and
// junk of another type in the list's keys reads as absent and is replaced (as sessions do).

const PREFIX = `llmchat-test:${randomUUID()}:`;
const available = await requireRedis('conversation junk on Redis');
const redis = available ? new Redis(REDIS_URL) : undefined;
const HOUR = 3_600_000;
const config: SessionConfig = {
  servers: [{ url: 'http://127.0.0.1:8000/mcp', transport: 'streamable_http' }],
  model: 'fake',
  streaming: true,
};
const turn = [
  { role: 'user' as const, content: 'Plan my trip' },
  { role: 'assistant' as const, content: 'Sure.' },
];

afterAll(async () => {
  if (redis) {
    await deletePrefix(redis, PREFIX);
    await redis.quit();
  }
});

/** An index whose records always fail, as a storage does when it is down or holds junk. */
function failingIndex(seesSessions: boolean): ConversationBackend {
  const index = new MemoryConversationBackend();
  return {
    recordTurn: async () => {
      throw new LlmChatError('BACKEND_UNAVAILABLE', 'The storage backend is unavailable.');
    },
    get: (...args) => index.get(...args),
    list: (...args) => index.list(...args),
    remove: (userId, conversationId) => index.remove(userId, conversationId),
    ...(seesSessions ? { seesSessions: true } : {}),
  };
}

describe('a turn whose list entry could not be recorded', () => {
  it.each([
    ['sent with the append', true],
    ['sent after the append', false],
  ])('is saved, not failed, and the logger hears of it (%s)', async (_name, seesSessions) => {
    const store = new SessionStore(new MemorySessionBackend());
    const warnings: Array<[string, unknown]> = [];
    const logger = { warn: (message: string, meta?: unknown) => warnings.push([message, meta]) };
    const conversations = new Conversations(store, failingIndex(seesSessions), { historyTtlMs: HOUR, logger });
    const session = await store.createSession('ann', config);
    await expect(
      conversations.history('ann', 'trip', undefined, { sessionVersion: session.version }).append(turn),
    ).resolves.toBeUndefined();
    expect(await store.getHistory('ann', 'trip')).toMatchObject(turn);
    expect(warnings).toEqual([[expect.stringContaining('list entry'), { code: 'BACKEND_UNAVAILABLE' }]]);
  });
});

describe.skipIf(!available)('Redis conversation keys holding another type', () => {
  const client = redis as Redis;
  const backend = () => new RedisConversationBackend(client, { keyPrefix: PREFIX });
  const keys = (user: string) => ({
    index: PREFIX + conversationIndexKey(user),
    entries: PREFIX + conversationEntriesKey(user),
  });

  it('reads junk entries as absent and replaces them with the next turn', async () => {
    const conversations = backend();
    const user = `u-${randomUUID()}`;
    await conversations.recordTurn(user, 'trip', { title: 'Trip', at: Date.now(), ttlMs: HOUR });
    await client.del(keys(user).entries);
    await client.set(keys(user).entries, 'junk');
    expect(await conversations.get(user, 'trip')).toBeNull();
    expect(await conversations.list(user, { limit: 10 })).toEqual({ conversations: [], hasMore: false });
    expect(await conversations.admits(user, 'bike', { max: 1, ttlMs: HOUR })).toBe(true);

    await conversations.recordTurn(user, 'trip', { title: 'Trip again', at: Date.now(), ttlMs: HOUR });
    expect(await client.type(keys(user).entries)).toBe('hash');
    expect((await conversations.list(user, { limit: 10 })).conversations).toMatchObject([
      { conversationId: 'trip', title: 'Trip again', turns: 1 },
    ]);
  });

  it('skips an entry whose times no Date can hold, lists the others, and starts it over with the next turn', async () => {
    const conversations = backend();
    const user = `u-${randomUUID()}`;
    const at = Date.now();
    await conversations.recordTurn(user, 'trip', { title: 'Trip', at, ttlMs: HOUR });
    await conversations.recordTurn(user, 'bike', { title: 'Bike', at: at + 1, ttlMs: HOUR });
    const junk = { t: 'x', c: 1e300, u: at, n: 1, e: at + HOUR };
    await client.hset(keys(user).entries, 'trip', JSON.stringify(junk));
    const listed = await conversations.list(user, { limit: 10 });
    expect(listed.conversations.map((entry) => entry.conversationId)).toEqual(['bike']);
    expect(await conversations.get(user, 'trip')).toBeNull();

    await conversations.recordTurn(user, 'trip', { title: 'Trip again', at: at + 2, ttlMs: HOUR });
    const entry = await conversations.get(user, 'trip');
    expect(entry).toMatchObject({ title: 'Trip again', turns: 1, createdAt: at + 2 });
    expect(new Date(entry?.createdAt ?? Number.NaN).toISOString()).toBeTypeOf('string');
  });

  it('counts only conversations with a live entry against the cap, and drops index members without one', async () => {
    const conversations = backend();
    const user = `u-${randomUUID()}`;
    const at = Date.now();
    await conversations.recordTurn(user, 'a', { title: 'a', at, ttlMs: HOUR });
    // Index members with no entry (junk): the list shows none of them.
    await client.zadd(keys(user).index, 9e15, 'j1', 9e15, 'j2', 9e15, 'j3');
    expect((await conversations.list(user, { limit: 10 })).conversations.map((c) => c.conversationId)).toEqual(['a']);
    expect(await conversations.admits(user, 'real1', { max: 3, ttlMs: HOUR })).toBe(true);
    expect(await client.zrange(keys(user).index, 0, -1)).toEqual(['a']);
    // Real conversations still fill it.
    for (const [i, id] of ['b', 'c'].entries()) {
      await conversations.recordTurn(user, id, { title: id, at: at + 1 + i, ttlMs: HOUR });
    }
    await client.zadd(keys(user).index, 9e15, 'j4');
    expect(await conversations.admits(user, 'd', { max: 3, ttlMs: HOUR })).toBe(false);
    expect(await conversations.admits(user, 'a', { max: 3, ttlMs: HOUR })).toBe(true);
  });

  it('reads a junk index as empty, and rebuilds it from the entries on the next turn', async () => {
    const conversations = backend();
    const user = `u-${randomUUID()}`;
    const at = Date.now();
    await conversations.recordTurn(user, 'trip', { title: 'Trip', at, ttlMs: HOUR });
    await conversations.recordTurn(user, 'bike', { title: 'Bike', at: at + 1, ttlMs: HOUR });
    await client.del(keys(user).index);
    await client.rpush(keys(user).index, 'junk');
    expect(await conversations.list(user, { limit: 10 })).toEqual({ conversations: [], hasMore: false });
    expect(await conversations.admits(user, 'car', { max: 1, ttlMs: HOUR })).toBe(true);
    expect(await conversations.remove(user, 'trip')).toBe(false);
    expect(await client.type(keys(user).index)).toBe('list');

    await conversations.recordTurn(user, 'car', { title: 'Car', at: at + 2, ttlMs: HOUR });
    const listed = (await conversations.list(user, { limit: 10 })).conversations;
    expect(listed.map((entry) => [entry.conversationId, entry.turns])).toEqual([
      ['car', 1],
      ['bike', 1],
    ]);
  });

  describe('over HTTP', () => {
    let stack: Stack | undefined;
    afterEach(async () => {
      await stack?.close();
      stack = undefined;
    });

    it('answers a turn and the list while the entries key holds a string', async () => {
      stack = await startStack({ storage: redisStorage(client, { keyPrefix: PREFIX }) });
      const user = `u-${randomUUID()}`;
      const chat = (message: string) =>
        stack!.handler.fetch(jsonRequest('/chat', user, { message, conversation_id: 'c1' }));
      expect((await stack.handler.fetch(jsonRequest('/connect', user, { llm: { model: 'fake' } }))).status).toBe(200);
      expect((await chat('first')).status).toBe(200);
      await client.del(keys(user).entries);
      await client.set(keys(user).entries, 'junk');

      expect((await chat('second')).status).toBe(200);
      const list = await stack.handler.fetch(jsonRequest(`/conversations/${user}`, user));
      expect(list.status).toBe(200);
      expect((await list.json()).conversations).toMatchObject([{ conversation_id: 'c1', title: 'second' }]);
      const history = await (
        await stack.handler.fetch(jsonRequest(`/history/${user}?conversation_id=c1`, user))
      ).json();
      expect(history.messages.filter((m: { role: string }) => m.role === 'user')).toMatchObject([
        { content: 'first' },
        { content: 'second' },
      ]);
    });
  });
});
