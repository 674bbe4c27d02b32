import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { CONTINUE_INSTRUCTION } from '../../src/chat/continue-answer.js';
import { createChatHandler } from '../../src/http/create-chat-handler.js';
import { redisStorage } from '../../src/redis/redis-storage.js';
import type { ChatStorage } from '../../src/storage.js';
import { TurnLog } from '../../src/turns/turn-log.js';
import { redisServerInstalled, startRedisServer, type ThrowawayRedis } from '../fixtures/redis-server.js';
import { jsonRequest, type Stack, startStack } from '../http/stack.js';
import { SseReader } from '../turns/turn-helpers.js';

// Redis goes away as a turn ends, for longer than the turn's lease: the turn's stream ends with
// `error` (its history could not be saved), and its process cannot record that end. Once Redis
// is back, the user's next message goes to another process. That process must find the turn
// ended, not take it over: the user has seen its end, and a takeover would have the LLM go on
// with the cut answer, save an answer the user never saw, and refuse the user's message (409).
//
// The outage is made long without waiting for it: Redis is really down (killed, then restarted
// from its fsync-always append-only file), and the clock of this process jumps ahead meanwhile.
const installed = redisServerInstalled();
if (!installed) {
  if (process.env.CI) throw new Error('redis-server is not installed: the outage turn end test cannot run.');
  console.warn('\n!!!!! Outage turn end test SKIPPED: /usr/bin/redis-server is not installed. !!!!!\n');
}

const LOCK_TTL_MS = 3000;
const TURN_TIMEOUT_MS = 300_000;
const OUTAGE_MS = 5 * 60_000 - 30_000;

describe.skipIf(!installed)('a turn that ended while Redis was down for longer than its lease', () => {
  let redis: ThrowawayRedis;
  let stack: Stack | undefined;
  let other: ReturnType<typeof createChatHandler> | undefined;
  const storages: ChatStorage[] = [];
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

  afterEach(() => {
    vi.useRealTimers();
  });

  afterAll(async () => {
    await other?.close();
    await stack?.close();
    await Promise.all(storages.map((storage) => storage.close()));
    for (const client of clients) client.disconnect();
    await redis?.close();
  });

  it('is recorded as ended once Redis is back, and the next message on another process starts a new turn', async () => {
    const prefix = `llmchat-outage-end:${randomUUID()}:`;
    const user = `oe-${randomUUID().slice(0, 8)}`;
    const storageOn = (client: Redis) => {
      const storage = redisStorage(client, { keyPrefix: prefix, operationTimeoutMs: 500 });
      storages.push(storage);
      return storage;
    };
    const storage = storageOn(connect());
    stack = await startStack({ storage, lockTtlMs: LOCK_TTL_MS, turnTimeoutMs: TURN_TIMEOUT_MS });
    other = createChatHandler({ ...stack.options, storage: storageOn(connect()) });
    const { handler, llm } = stack;
    expect((await handler.fetch(jsonRequest('/connect', user, { llm: { model: 'fake' } }))).status).toBe(200);
    expect((await handler.fetch(jsonRequest('/chat', user, { message: 'before' }))).status).toBe(200);

    const started = await handler.fetch(jsonRequest('/chat', user, { message: 'slowly but briefly', streaming: true }));
    const turnId = started.headers.get('x-turn-id') as string;
    const reader = new SseReader(started);
    await reader.until(1);
    await redis.crash();
    const frames = await reader.all();
    expect(frames.at(-1)).toMatchObject({ event: 'error', data: { code: 'BACKEND_UNAVAILABLE' } });

    // Minutes go by (a retry of the end that gives up after one of them gives up now), and the
    // lease is lost: with Redis down it cannot be renewed.
    vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
    vi.setSystemTime(Date.now() + OUTAGE_MS);
    await new Promise((resolve) => setTimeout(resolve, LOCK_TTL_MS + 2500));
    await redis.start();

    // The end the user saw is recorded once this process reaches Redis again.
    const log = new TurnLog(storage.turns as NonNullable<ChatStorage['turns']>);
    await vi.waitFor(async () => expect((await log.last({ userId: user, turnId }))?.event).toBe('error'), {
      timeout: 15_000,
      interval: 200,
    });

    const asked = llm.requests.length;
    const next = await other.fetch(jsonRequest('/chat', user, { message: 'after the outage' }));
    expect(next.status).toBe(200);
    const sent = llm.requests
      .slice(asked)
      .flatMap((request) =>
        ((request.body?.messages ?? []) as Array<{ content: unknown }>).map((message) => message.content),
      );
    expect(sent).not.toContain(CONTINUE_INSTRUCTION);
    const history = (await (await other.fetch(jsonRequest(`/history/${user}`, user))).json()) as {
      messages: Array<{ content: string }>;
    };
    // The turn whose save failed is not there: its user was told so.
    expect(history.messages.map((message) => message.content)).toEqual([
      'before',
      'Hello from the fake.',
      'after the outage',
      'Hello from the fake.',
    ]);
  }, 60_000);
});
