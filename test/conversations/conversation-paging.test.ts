import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { ConversationBackend } from '../../src/conversations/conversation-backend.js';
import { Conversations } from '../../src/conversations/conversations.js';
import { MemoryConversationBackend } from '../../src/conversations/memory-conversation-backend.js';
import { RedisConversationBackend } from '../../src/redis/redis-conversation-backend.js';
import { MemorySessionBackend } from '../../src/session/memory-session-backend.js';
import { conversationEntriesKey } from '../../src/session/session-keys.js';
import { SessionStore } from '../../src/session/session-store.js';
import { memoryStorage } from '../../src/storage.js';
import { deletePrefix, REDIS_URL, requireRedis } from '../fixtures/shared-redis.js';
import { jsonRequest, type Stack, startStack } from '../http/stack.js';

// Conversations updated in the same millisecond: paging by the last one's (updated_at,
// conversation_id) neither skips nor repeats any, on both backends.

const PREFIX = `llmchat-test:${randomUUID()}:`;
const available = await requireRedis('conversation paging on Redis');
const redis = available ? new Redis(REDIS_URL) : undefined;
const HOUR = 3_600_000;
const AT = 1_800_000_000_000;

afterAll(async () => {
  if (redis) {
    await deletePrefix(redis, PREFIX);
    await redis.quit();
  }
});

const backends: Array<[string, () => ConversationBackend]> = [
  ['memory', () => new MemoryConversationBackend(() => AT)],
];
if (redis) backends.push(['redis', () => new RedisConversationBackend(redis, { keyPrefix: PREFIX, now: () => AT })]);

/** Every conversation, a page of `limit` at a time, each page after the last one's cursor. */
async function pageThrough(backend: ConversationBackend, userId: string, limit: number): Promise<string[]> {
  const seen: string[] = [];
  let cursor: { before: number; beforeId: string } | undefined;
  for (let page = 0; page < 20; page++) {
    const { conversations, hasMore } = await backend.list(userId, { limit, ...cursor });
    seen.push(...conversations.map((entry) => entry.conversationId));
    const last = conversations.at(-1);
    if (!hasMore || last === undefined) break;
    cursor = { before: last.updatedAt, beforeId: last.conversationId };
  }
  return seen;
}

describe.each(backends)('paging conversations updated in the same millisecond (%s)', (_name, makeBackend) => {
  it('orders by updated_at then conversation_id, and pages through ties without a skip or a repeat', async () => {
    const backend = makeBackend();
    const user = `u-${randomUUID()}`;
    for (const id of ['b', 'a', 'd', 'c']) await backend.recordTurn(user, id, { title: id, at: AT, ttlMs: HOUR });
    await backend.recordTurn(user, 'old', { title: 'old', at: AT - 1000, ttlMs: HOUR });
    await backend.recordTurn(user, 'new', { title: 'new', at: AT + 1000, ttlMs: HOUR });
    const all = ['new', 'd', 'c', 'b', 'a', 'old'];

    expect((await backend.list(user, { limit: 10 })).conversations.map((entry) => entry.conversationId)).toEqual(all);
    for (const limit of [1, 2, 3, 5]) expect(await pageThrough(backend, user, limit), `limit ${limit}`).toEqual(all);
    // `before` alone keeps its meaning: strictly older than that time.
    const older = await backend.list(user, { limit: 10, before: AT });
    expect(older.conversations.map((entry) => entry.conversationId)).toEqual(['old']);
  });
});

describe.skipIf(!available)('Redis conversation pages that skip corrupt entries', () => {
  it('reads on after the last id of a batch that ended inside a run of equal times', async () => {
    const backend = new RedisConversationBackend(redis as Redis, { keyPrefix: PREFIX, now: () => AT });
    const user = `u-${randomUUID()}`;
    for (const id of ['a', 'b', 'c', 'd', 'e']) await backend.recordTurn(user, id, { title: id, at: AT, ttlMs: HOUR });
    await (redis as Redis).hset(PREFIX + conversationEntriesKey(user), 'd', '{"t":');
    // The first batch (4 ids) ends at 'b' with one corrupt: the second must start after 'b', not after AT.
    const page = await backend.list(user, { limit: 3 });
    expect(page.conversations.map((entry) => entry.conversationId)).toEqual(['e', 'c', 'b']);
    expect(page.hasMore).toBe(true);
    expect(await pageThrough(backend, user, 3)).toEqual(['e', 'c', 'b', 'a']);
  });
});

describe('Conversations.list options', () => {
  it('refuses a limit that is not a whole number of at least 1, and a cursor that is not one', async () => {
    const calls: unknown[] = [];
    const index = new MemoryConversationBackend();
    const spy: ConversationBackend = {
      recordTurn: (...args) => index.recordTurn(...args),
      get: (...args) => index.get(...args),
      remove: (userId, conversationId) => index.remove(userId, conversationId),
      list: (userId, options) => {
        calls.push(options);
        return index.list(userId, options);
      },
    };
    const conversations = new Conversations(new SessionStore(new MemorySessionBackend()), spy, { historyTtlMs: HOUR });
    for (const options of [
      { limit: -4 },
      { limit: 0 },
      { limit: 1.5 },
      { limit: Number.NaN },
      { limit: Number.POSITIVE_INFINITY },
      { limit: 10, before: Number.NaN },
      { limit: 10, beforeId: 'a' },
      { limit: 10, before: AT, beforeId: 'a b' },
    ]) {
      await expect(conversations.list('ann', options), JSON.stringify(options)).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
      });
    }
    expect(calls).toEqual([]);
    await expect(conversations.list('ann', { limit: 10, before: AT, beforeId: 'a' })).resolves.toEqual({
      conversations: [],
      hasMore: false,
    });
  });
});

describe('GET /conversations with before_id', () => {
  let stack: Stack | undefined;
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  it('pages through conversations updated in the same millisecond, and wants before with before_id', async () => {
    const storage = memoryStorage();
    const user = `u-${randomUUID()}`;
    const at = Date.now();
    for (const id of ['a', 'b', 'c']) await storage.conversations?.recordTurn(user, id, { title: id, at, ttlMs: HOUR });
    await storage.conversations?.recordTurn(user, 'old', { title: 'old', at: at - 1000, ttlMs: HOUR });
    stack = await startStack({ storage });
    const seen: string[] = [];
    let query = '';
    for (let page = 0; page < 10; page++) {
      const response = await stack.handler.fetch(jsonRequest(`/conversations/${user}?limit=1${query}`, user));
      expect(response.status).toBe(200);
      const body = (await response.json()) as {
        conversations: Array<{ conversation_id: string; updated_at: string }>;
        has_more: boolean;
      };
      seen.push(...body.conversations.map((entry) => entry.conversation_id));
      const last = body.conversations.at(-1);
      if (!body.has_more || last === undefined) break;
      query = `&before=${encodeURIComponent(last.updated_at)}&before_id=${encodeURIComponent(last.conversation_id)}`;
    }
    expect(seen).toEqual(['c', 'b', 'a', 'old']);

    for (const bad of ['?before_id=a', `?before=${at}&before_id=a%20b`]) {
      const response = await stack.handler.fetch(jsonRequest(`/conversations/${user}${bad}`, user));
      expect(response.status, bad).toBe(422);
      expect(await response.json()).toMatchObject({
        code: 'VALIDATION_FAILED',
        detail: expect.stringMatching(/^before_id:/),
      });
    }
  });
});
