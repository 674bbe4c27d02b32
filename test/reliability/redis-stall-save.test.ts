import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisStorage } from '../../src/redis/redis-storage.js';
import type { SessionBackend } from '../../src/session/session-backend.js';
import { redisServerInstalled, startRedisServer, type ThrowawayRedis } from '../fixtures/redis-server.js';
import { jsonRequest, type Stack, startStack } from '../http/stack.js';

// Redis stalls right as a turn saves its history: the save times out, but Redis runs it once it
// wakes. Told the turn failed, a client would send the message again and the conversation would
// keep the turn twice; the turn must end as what really happened: saved, so `final`.
const installed = redisServerInstalled();
if (!installed) {
  if (process.env.CI) throw new Error('redis-server is not installed: the stalled save test cannot run.');
  console.warn('\n!!!!! Stalled save test SKIPPED: /usr/bin/redis-server is not installed. !!!!!\n');
}

const OP_TIMEOUT_MS = 300;
const STALL_MS = 1500;

describe.skipIf(!installed)('a history save that Redis runs after it timed out', () => {
  let redis: ThrowawayRedis;
  let stack: Stack | undefined;
  const clients: Redis[] = [];
  const connect = () => {
    const client = new Redis(redis.url);
    client.on('error', () => {});
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    redis = await startRedisServer();
  }, 30_000);

  afterAll(async () => {
    await stack?.close();
    for (const client of clients) client.disconnect();
    await redis?.close();
  });

  it('ends the turn with final, and the history keeps it once', async () => {
    const user = `stall-${randomUUID().slice(0, 8)}`;
    const storage = redisStorage(connect(), {
      keyPrefix: `llmchat-stall-save:${randomUUID()}:`,
      operationTimeoutMs: OP_TIMEOUT_MS,
    });
    // Redis stops answering right before the save of the turn that asks for it goes out.
    const admin = connect();
    const sessions = storage.sessions as SessionBackend;
    const appendToList = sessions.appendToList.bind(sessions);
    let stallNext = false;
    sessions.appendToList = async (key, values, options) => {
      if (stallNext) {
        stallNext = false;
        await admin.call('CLIENT', 'PAUSE', String(STALL_MS), 'ALL');
      }
      return appendToList(key, values, options);
    };
    stack = await startStack({ storage });
    const { handler } = stack;
    expect((await handler.fetch(jsonRequest('/connect', user, { llm: { model: 'fake' } }))).status).toBe(200);
    expect((await handler.fetch(jsonRequest('/chat', user, { message: 'before' }))).status).toBe(200);

    stallNext = true;
    const stalled = await handler.fetch(jsonRequest('/chat', user, { message: 'stall the save' }));
    const body = await stalled.json();
    expect(stallNext).toBe(false);
    expect([stalled.status, body.response]).toEqual([200, 'Hello from the fake.']);

    const history = (await (await handler.fetch(jsonRequest(`/history/${user}`, user))).json()) as {
      messages: Array<{ role: string; content: string }>;
    };
    expect(history.messages.map((message) => message.content)).toEqual([
      'before',
      'Hello from the fake.',
      'stall the save',
      'Hello from the fake.',
    ]);
  }, 30_000);
});
