import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { ConversationBackend } from '../../src/conversations/conversation-backend.js';
import { Conversations } from '../../src/conversations/conversations.js';
import { MemoryConversationBackend } from '../../src/conversations/memory-conversation-backend.js';
import { RedisConversationBackend } from '../../src/redis/redis-conversation-backend.js';
import { RedisSessionBackend } from '../../src/redis/redis-session-backend.js';
import { redisStorage } from '../../src/redis/redis-storage.js';
import { MemorySessionBackend } from '../../src/session/memory-session-backend.js';
import { SessionStore } from '../../src/session/session-store.js';
import type { SessionConfig } from '../../src/types.js';
import { deletePrefix, REDIS_URL, requireRedis } from '../fixtures/shared-redis.js';

// A turn's history append and its conversation entry: on Redis they go out together (one round
// trip), and the entry is still written only when the history was (same session version).

const PREFIX = `llmchat-test:${randomUUID()}:`;
const available = await requireRedis('conversation record guard tests');
const clients: Redis[] = [];
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
  if (clients[0]) await deletePrefix(clients[0], PREFIX);
  await Promise.all(clients.map((client) => client.quit()));
});

function client(): Redis {
  const redis = new Redis(REDIS_URL);
  clients.push(redis);
  return redis;
}

/** Counts the scripts sent while another is still unanswered: the most in flight at once. */
function watchInFlight(redis: Redis): { readonly most: number } {
  const original = redis.evalsha.bind(redis) as (...args: unknown[]) => Promise<unknown>;
  let inFlight = 0;
  const seen = { most: 0 };
  (redis as unknown as { evalsha: (...args: unknown[]) => Promise<unknown> }).evalsha = (...args) => {
    inFlight++;
    seen.most = Math.max(seen.most, inFlight);
    return original(...args).finally(() => {
      inFlight--;
    });
  };
  return seen;
}

describe.skipIf(!available)('RedisConversationBackend onlyIf (real Redis)', () => {
  it('records only while the session key holds the text, when it was given the session backend', async () => {
    const redis = client();
    const sessions = new RedisSessionBackend(redis, { keyPrefix: PREFIX });
    const backend = new RedisConversationBackend(redis, { keyPrefix: PREFIX, sessions });
    expect(backend.seesSessions).toBe(true);
    const user = `user-${randomUUID()}`;
    const onlyIf = { key: `${user}:session`, contains: '"version":"v1"' };

    await backend.recordTurn(user, 'absent', { title: 'a', at: Date.now(), ttlMs: HOUR, onlyIf });
    expect(await backend.get(user, 'absent')).toBeNull();

    await sessions.set(onlyIf.key, '{"version":"v2"}', HOUR);
    await backend.recordTurn(user, 'replaced', { title: 'r', at: Date.now(), ttlMs: HOUR, onlyIf });
    expect(await backend.get(user, 'replaced')).toBeNull();

    await sessions.set(onlyIf.key, '{"version":"v1","x":1}', HOUR);
    await backend.recordTurn(user, 'held', { title: 'h', at: Date.now(), ttlMs: HOUR, onlyIf });
    expect(await backend.get(user, 'held')).toMatchObject({ title: 'h', turns: 1 });
  });

  it('does not claim to see sessions without the session backend', () => {
    expect(new RedisConversationBackend(client(), { keyPrefix: PREFIX }).seesSessions).toBe(false);
  });
});

describe.skipIf(!available)('Conversations over redisStorage (real Redis)', () => {
  async function setUp() {
    const redis = client();
    const inFlight = watchInFlight(redis);
    const storage = redisStorage(redis, { keyPrefix: PREFIX });
    const store = new SessionStore(storage.sessions);
    const index = storage.conversations;
    if (!index) throw new Error('redisStorage has a conversation backend');
    const conversations = new Conversations(store, index, { historyTtlMs: HOUR });
    return { store, index, conversations, inFlight };
  }

  it('sends the history append and the entry together, and saves both', async () => {
    const { store, index, conversations, inFlight } = await setUp();
    const user = `user-${randomUUID()}`;
    const session = await store.createSession(user, config);
    await conversations.history(user, 'trip', undefined, { sessionVersion: session.version }).append(turn);

    expect(inFlight.most).toBe(2);
    expect(await store.getHistory(user, 'trip')).toMatchObject(turn);
    expect(await index.get(user, 'trip')).toMatchObject({ title: 'Plan my trip', turns: 1 });
  });

  it('saves neither when the session was replaced while the turn ran', async () => {
    const { store, index, conversations } = await setUp();
    const user = `user-${randomUUID()}`;
    const first = await store.createSession(user, config);
    await store.createSession(user, config); // a reconnect meanwhile: a new version
    await conversations.history(user, 'trip', undefined, { sessionVersion: first.version }).append(turn);

    expect(await store.getHistory(user, 'trip')).toEqual([]);
    expect(await index.get(user, 'trip')).toBeNull();
  });
});

describe('Conversations over a backend that does not see sessions', () => {
  it('records the entry after the append, and not at all when the append was refused', async () => {
    const store = new SessionStore(new MemorySessionBackend());
    const index = new MemoryConversationBackend();
    expect((index as ConversationBackend).seesSessions).toBeUndefined();
    const conversations = new Conversations(store, index, { historyTtlMs: HOUR });
    const user = `user-${randomUUID()}`;
    const first = await store.createSession(user, config);
    await conversations.history(user, 'kept', undefined, { sessionVersion: first.version }).append(turn);
    expect(await index.get(user, 'kept')).toMatchObject({ turns: 1 });

    await store.createSession(user, config);
    await conversations.history(user, 'dropped', undefined, { sessionVersion: first.version }).append(turn);
    expect(await index.get(user, 'dropped')).toBeNull();
  });
});
