import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { redisStorage } from '../../src/redis/redis-storage.js';
import { SessionStore } from '../../src/session/session-store.js';
import type { ChatStorage } from '../../src/storage.js';
import { TurnLog } from '../../src/turns/turn-log.js';
import { deletePrefix, REDIS_URL, requireRedis } from '../fixtures/shared-redis.js';
import { jsonRequest, type Stack, startStack } from '../http/stack.js';

// On Redis a new turn's latest-turn record travels with its lock request, before the session is
// even read. A send that then does not start its turn must leave the record as it was: readers
// and `/stop` must keep finding the conversation's last real turn.

const available = await requireRedis('turn record under lock tests');
const PREFIX = `llmchat-early:${randomUUID()}:`;
const redis = available ? new Redis(REDIS_URL) : (undefined as unknown as Redis);
let stack: Stack | undefined;
let storage: ChatStorage | undefined;

afterEach(async () => {
  await stack?.close();
  await storage?.close();
  stack = undefined;
});

afterAll(async () => {
  if (!available) return;
  await deletePrefix(redis, PREFIX);
  await redis.quit();
});

async function setUp() {
  storage = redisStorage(redis, { keyPrefix: PREFIX });
  stack = await startStack({ storage });
  const log = new TurnLog(storage.turns as NonNullable<ChatStorage['turns']>);
  expect(log.recordsUnderLock).toBe(true);
  const user = `early-${randomUUID().slice(0, 8)}`;
  const handler = stack.handler;
  expect((await handler.fetch(jsonRequest('/connect', user, { llm: { model: 'fake' } }))).status).toBe(200);
  const first = await handler.fetch(jsonRequest('/chat', user, { message: 'hi', streaming: false }));
  expect(first.status).toBe(200);
  const latest = await log.getLatest(user);
  expect(latest).toMatchObject({ turnId: first.headers.get('x-turn-id'), ended: true });
  return { handler, log, user, latest, storage };
}

describe.skipIf(!available)('a send whose turn does not start, on Redis', () => {
  it('leaves the latest-turn record to the last turn when the session is gone', async () => {
    const { handler, log, user } = await setUp();
    expect((await handler.fetch(jsonRequest('/disconnect', user, {}))).status).toBe(200);
    const latest = await log.getLatest(user);
    const refused = await handler.fetch(jsonRequest('/chat', user, { message: 'again', streaming: true }));
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ code: 'SESSION_NOT_FOUND' });
    expect(await log.getLatest(user)).toEqual(latest);
  });

  it('leaves it when the session names a model the host no longer offers', async () => {
    const { handler, log, user, latest, storage } = await setUp();
    const config = { servers: [{ url: stack?.mcp.url as string }], model: 'gone', streaming: true };
    await new SessionStore(storage.sessions).createSession(user, config);
    const refused = await handler.fetch(jsonRequest('/chat', user, { message: 'again', streaming: true }));
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(await log.getLatest(user)).toEqual(latest);
    // And the conversation's lock is free: the next send (after a connect) runs.
    expect((await handler.fetch(jsonRequest('/connect', user, { llm: { model: 'fake' } }))).status).toBe(200);
    expect((await handler.fetch(jsonRequest('/chat', user, { message: 'hi', streaming: false }))).status).toBe(200);
  });
});
