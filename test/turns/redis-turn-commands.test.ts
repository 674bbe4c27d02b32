import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChatHandler } from '../../src/http/create-chat-handler.js';
import { redisStorage } from '../../src/redis/redis-storage.js';
import { type FakeLlmServer, startFakeOpenAI } from '../fixtures/fake-openai-server.js';
import { deletePrefix, REDIS_URL, requireRedis } from '../fixtures/shared-redis.js';
import { startTestMcpHttpServer, type TestMcpHttpServer } from '../fixtures/test-mcp-server.js';
import { bearerUser, jsonRequest } from '../http/stack.js';

// What one plain streamed turn costs on Redis, command by command (issue 11: ≤ 8, event log
// included). The bench measures the average over many turns (`npm run bench`, table 5); this
// pins the sequence, so a change that adds a round trip to every turn fails here.
const available = await requireRedis('Redis turn commands test');
const PREFIX = `llmchat-commands:${randomUUID()}:`;

describe.skipIf(!available)('the Redis commands of one plain turn', () => {
  let llm: FakeLlmServer;
  let mcp: TestMcpHttpServer;
  let redis: Redis;
  const sent: string[] = [];
  // For each command counted: how many counted commands had been answered when it was sent.
  // Commands sent with the same number went out in the same round trip.
  const answeredBefore: number[] = [];
  let answered = 0;
  let counting = false;

  beforeAll(async () => {
    llm = await startFakeOpenAI({ reply: () => ({ kind: 'text', chunks: ['Hello there.'] }) });
    mcp = await startTestMcpHttpServer();
    redis = new Redis(REDIS_URL);
    const send = redis.sendCommand.bind(redis);
    redis.sendCommand = ((command: { name: string; args: unknown[]; promise: Promise<unknown> }, stream?: unknown) => {
      if (counting) {
        sent.push(describeCommand(command));
        answeredBefore.push(answered);
        command.promise.then(
          () => answered++,
          () => answered++,
        );
      }
      return send(command as never, stream as never);
    }) as typeof redis.sendCommand;
  });

  afterAll(async () => {
    await deletePrefix(redis, PREFIX);
    await redis.quit();
    await Promise.all([llm?.close(), mcp?.close()]);
  });

  it('takes 7: lock, session and history, the latest-turn record (one round trip); the events; history and the conversation entry (together); the end with the lock', async () => {
    const storage = redisStorage(redis, { keyPrefix: PREFIX });
    const handler = createChatHandler({
      authenticate: bearerUser,
      models: [{ id: 'fake', provider: 'openai_compatible', baseUrl: llm.url, apiKey: 'sk-commands' }],
      mcp: { defaultServer: { url: mcp.url }, allowedUrls: [mcp.url] },
      storage,
      keepAliveMs: 0,
    });
    try {
      expect((await handler.fetch(jsonRequest('/connect', 'cmd', { llm: { model: 'fake' } }))).status).toBe(200);
      const turn = async () => {
        const response = await handler.fetch(jsonRequest('/chat', 'cmd', { message: 'hi', streaming: true }));
        expect(response.status).toBe(200);
        expect(await response.text()).toContain('event: final');
      };
      await turn(); // the first turn of a conversation, not the steady state
      counting = true;
      await turn();
      counting = false;
      expect(sent).toEqual([
        'set lock:turn NX',
        'evalsha session history',
        // Checks the lock itself: sent with the lock request, written only if it was granted.
        'evalsha turn-latest lock:turn',
        'evalsha turn-events turn-fence',
        'evalsha history session seen',
        // Sent with the history append, not after it: the entry checks the session's version itself.
        'evalsha conversations conversation-entries session',
        'evalsha turn-events turn-fence turn-latest lock:turn',
      ]);
      // One round trip before the LLM call; the history and its entry together; the end once
      // both are stored (the events may travel with the history, as here with one chunk).
      const [lock, session, record, , history, entry, end] = answeredBefore as number[];
      expect([lock, session, record]).toEqual([0, 0, 0]);
      expect(entry).toBe(history);
      expect(end).toBeGreaterThanOrEqual((history ?? 0) + 2);
      // The turn's end freed the lock: the next turn starts at once.
      expect(await redis.exists(`${PREFIX}lock:{u:cmd}:turn`)).toBe(0);
      await turn();
    } finally {
      await handler.close();
      await storage.close();
    }
  });
});

/** A command by name and the kinds of keys it touches (`{u:cmd}:history` → `history`). */
function describeCommand(command: { name: string; args: unknown[] }): string {
  const args = command.args.map(String);
  const kind = (key: string) =>
    key
      .slice(PREFIX.length)
      .replace('{u:cmd}:', '')
      .replace(/^lock:\{u:cmd\}:/, 'lock:')
      .replace(/:[A-Za-z0-9_-]{16}$/, '');
  if (command.name === 'evalsha') {
    const keys = args.slice(2, 2 + Number(args[1])).map(kind);
    return `evalsha ${[...new Set(keys)].join(' ')}`;
  }
  if (command.name === 'set') return `set ${kind(args[0] ?? '')}${args.includes('NX') ? ' NX' : ''}`;
  return `${command.name} ${args.slice(0, 1).map(kind).join(' ')}`;
}
