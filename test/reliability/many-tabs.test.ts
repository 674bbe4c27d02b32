import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisSessionBackend } from '../../src/redis/redis-session-backend.js';
import { SessionStore } from '../../src/session/session-store.js';
import { type FakeLlmServer, startFakeOpenAI } from '../fixtures/fake-openai-server.js';
import { openRedisTarget, REDIS_TARGETS, type RedisTarget, redisTargetAvailable } from '../fixtures/redis-targets.js';
import { startTestMcpHttpServer, type TestMcpHttpServer } from '../fixtures/test-mcp-server.js';
import { type Answer, call, parseSse, startWorkers, type Worker } from '../multiprocess/worker-process.js';

// One user with many tabs open: 200 chats at once over two processes sharing Redis. Turns never
// overlap, and the history holds exactly the turns that were answered, in order. On the shared
// Redis and on a Redis Cluster, where the turn lock and the history must share a slot for a turn
// to see the turn saved just before it.
const PREFIX = `llmchat-tabs:${randomUUID()}:`;
const TABS = 200;
const USER = 'tabby';

interface LlmCall {
  message: string;
  /** The user messages the LLM was sent: the history it saw, then this turn's message. */
  seen: string[];
  start: number;
  end: number;
}

for (const kind of REDIS_TARGETS) {
  const available = await redisTargetAvailable(kind, 'Many-tabs reliability test');
  describe.skipIf(!available)(`one user, many tabs, two processes, ${kind}`, () => {
    let llm: FakeLlmServer;
    let mcp: TestMcpHttpServer;
    let target: RedisTarget;
    const workers: Worker[] = [];
    const calls: LlmCall[] = [];

    beforeAll(async () => {
      target = await openRedisTarget(kind, PREFIX);
      llm = await startFakeOpenAI({
        reply: (request) => {
          const messages = request.body?.messages ?? [];
          const seen = messages
            .filter((m: { role: string }) => m.role === 'user')
            .map((m: { content: unknown }) => String(m.content));
          const entry: LlmCall = {
            message: String(messages.at(-1)?.content),
            seen,
            start: Date.now(),
            end: Number.NaN,
          };
          calls.push(entry);
          void request.settled.then(() => {
            entry.end = Date.now();
          });
          return { kind: 'text', chunks: ['tab', ' answer'], delayMs: 5 };
        },
      });
      mcp = await startTestMcpHttpServer();
      const config = {
        redisUrl: target.url,
        keyPrefix: PREFIX,
        llmUrl: llm.url,
        mcpUrl: mcp.url,
        turnPolicy: 'reject' as const,
        maxHistoryTurns: 1000,
      };
      await startWorkers(workers, ['tabs-1', 'tabs-2'], config);
    }, 90_000);

    afterAll(async () => {
      await Promise.all(workers.map((worker) => worker.stop()));
      await Promise.all([llm?.close(), mcp?.close()]);
      await target?.close();
    });

    it('serializes 200 concurrent chats and keeps exactly the answered turns, in order', async () => {
      expect(
        (await call(workers[0]?.baseUrl as string, '/connect', { user: USER, body: { llm: { model: 'fake' } } }))
          .status,
      ).toBe(200);
      calls.length = 0;
      // One turn on each process first, so both have built the user's MCP session: a first turn
      // that builds it under the storm can outlast the storm on a busy machine, and then only
      // one turn is answered.
      const answered = new Set<string>();
      for (const [i, worker] of workers.entries()) {
        const warmUp = await call(worker.baseUrl, '/chat', { user: USER, body: { message: `warm-up ${i}` } });
        expect(warmUp.status, warmUp.text).toBe(200);
        answered.add(`warm-up ${i}`);
      }

      // Spread over about 3 s so that some turns win the lock while others meet it held.
      const answers = await Promise.all(
        Array.from({ length: TABS }, async (_, i): Promise<[string, Answer]> => {
          await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 3000)));
          const message = `tab ${i}`;
          const worker = workers[i % 2] as Worker;
          return [
            message,
            await call(worker.baseUrl, '/chat', { user: USER, body: { message, streaming: i % 4 < 2 } }),
          ];
        }),
      );

      let stormAnswered = 0;
      for (const [message, answer] of answers) {
        if (answer.status === 409) {
          expect(answer.json.code).toBe('TURN_IN_PROGRESS');
          continue;
        }
        expect(answer.status, answer.text).toBe(200);
        if (answer.headers.get('content-type')?.startsWith('text/event-stream')) {
          expect(parseSse(answer.text).at(-1)?.event, answer.text).toBe('final');
        } else {
          expect(answer.json.response).toBe('tab answer');
        }
        answered.add(message);
        stormAnswered += 1;
      }
      expect(stormAnswered).toBeGreaterThan(1);
      expect(stormAnswered).toBeLessThan(TABS);

      // Exactly one LLM call per answered turn, and no two of them overlapped in time.
      await expect.poll(() => calls.every((c) => !Number.isNaN(c.end)), { timeout: 5000 }).toBe(true);
      expect(new Set(calls.map((c) => c.message))).toEqual(answered);
      expect(calls).toHaveLength(answered.size);
      const byStart = [...calls].sort((x, y) => x.start - y.start);
      for (let i = 1; i < byStart.length; i++) {
        const previous = byStart[i - 1] as LlmCall;
        const current = byStart[i] as LlmCall;
        expect(current.start, `${previous.message} overlaps ${current.message}`).toBeGreaterThanOrEqual(previous.end);
      }
      // Every turn saw all the turns answered before it, whichever process saved them.
      byStart.forEach((c, i) => {
        expect(c.seen, c.message).toEqual(byStart.slice(0, i + 1).map((earlier) => earlier.message));
      });

      // The stored history, read straight from Redis: the answered turns, in the order they ran.
      const store = new SessionStore(new RedisSessionBackend(target.client(), { keyPrefix: PREFIX }));
      const history = await store.getHistory(USER);
      const userMessages = history.filter((m) => m.role === 'user').map((m) => m.content);
      expect(userMessages).toEqual(byStart.map((c) => c.message));
      expect(history.filter((m) => m.role === 'assistant').every((m) => m.content === 'tab answer')).toBe(true);
    }, 60_000);
  });
}
