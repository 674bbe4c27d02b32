import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChatHandler } from '../../src/http/create-chat-handler.js';
import { redisStorage } from '../../src/redis/redis-storage.js';
import { SessionStore } from '../../src/session/session-store.js';
import { type ChatStorage, memoryStorage } from '../../src/storage.js';
import { deletePrefix, REDIS_URL, requireRedis } from '../fixtures/shared-redis.js';
import { jsonRequest, readFrames, type Stack, smartReply, startStack } from './stack.js';

// A /connect or /disconnect while a turn runs: the turn must not write into the session that
// replaced its own, nor re-create a history that was cleared.
const hasRedis = await requireRedis('turn races (Redis)');
const PREFIX = `test:races:${process.pid}:`;

let stack: Stack;
let redis: Redis | undefined;
beforeAll(async () => {
  stack = await startStack();
  stack.llm.reply((request) => {
    const last = (request.body?.messages as Array<{ content: unknown }> | undefined)?.at(-1);
    return last?.content === 'a slow turn'
      ? { kind: 'text', chunks: Array.from({ length: 8 }, (_, i) => `s${i} `), delayMs: 60 }
      : smartReply(request);
  });
  redis = hasRedis ? new Redis(REDIS_URL) : undefined;
});
afterAll(async () => {
  await stack.close();
  if (redis) {
    await deletePrefix(redis, PREFIX);
    await redis.quit();
  }
});

const storages: Array<[string, () => ChatStorage]> = [
  ['memory', () => memoryStorage()],
  ...(hasRedis
    ? [['Redis', () => redisStorage(redis as Redis, { keyPrefix: PREFIX })] as [string, () => ChatStorage]]
    : []),
];

/** Starts a streamed slow turn and resolves once its first token arrived, with the rest to read. */
async function slowTurnUnderway(handler: ReturnType<typeof createChatHandler>, user: string) {
  const response = await handler.fetch(jsonRequest('/chat', user, { message: 'a slow turn', streaming: true }));
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const first = await reader.read();
  expect(new TextDecoder().decode(first.value)).toContain('event: token');
  const rest = new Response(
    new ReadableStream({
      async pull(controller) {
        const step = await reader.read();
        if (step.done) controller.close();
        else controller.enqueue(step.value);
      },
    }),
  );
  // The turn is under way (its first token arrived): the caller's race starts now.
  return { frames: readFrames(rest) };
}

describe.each(storages)('a turn that outlives its session (%s)', (_name, makeStorage) => {
  it('is not written into the session a /connect made while it ran', async () => {
    const storage = makeStorage();
    const handler = createChatHandler({ ...stack.options, storage });
    const user = `race-connect-${_name}`;
    try {
      await handler.fetch(jsonRequest('/connect', user, { llm: { model: 'fake' } }));
      const { frames } = await slowTurnUnderway(handler, user);
      expect((await handler.fetch(jsonRequest('/connect', user, { llm: { model: 'fake' } }))).status).toBe(200);
      // The client still gets its whole answer.
      expect((await frames).at(-1)).toMatchObject({ event: 'final', data: { content: 's0 s1 s2 s3 s4 s5 s6 s7 ' } });
      // The new conversation starts empty.
      expect(await new SessionStore(storage.sessions).getHistory(user)).toEqual([]);
      await handler.fetch(jsonRequest('/chat', user, { message: 'hello' }));
      const sent = stack.llm.requests.at(-1)?.body.messages as Array<{ role: string; content: unknown }>;
      expect(sent).toEqual([{ role: 'user', content: 'hello' }]);
    } finally {
      await handler.close();
    }
  });

  it('does not re-create the history a /disconnect cleared while it ran', async () => {
    const storage = makeStorage();
    const handler = createChatHandler({ ...stack.options, storage });
    const user = `race-disconnect-${_name}`;
    try {
      await handler.fetch(jsonRequest('/connect', user, { llm: { model: 'fake' } }));
      const { frames } = await slowTurnUnderway(handler, user);
      const bye = await handler.fetch(jsonRequest('/disconnect', user, {}));
      expect((await bye.json()).status).toBe('disconnected');
      await frames;
      expect(await new SessionStore(storage.sessions).getHistory(user)).toEqual([]);
      const status = await (await handler.fetch(jsonRequest(`/status/${user}`, user))).json();
      expect(status.connected).toBe(false);
    } finally {
      await handler.close();
    }
  });
});
