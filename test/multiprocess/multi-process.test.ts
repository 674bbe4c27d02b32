import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RecordedRequest } from '../fixtures/fake-llm-common.js';
import { type FakeLlmServer, startFakeOpenAI } from '../fixtures/fake-openai-server.js';
import { openRedisTarget, REDIS_TARGETS, type RedisTarget, redisTargetAvailable } from '../fixtures/redis-targets.js';
import { startTestMcpHttpServer, type TestMcpHttpServer } from '../fixtures/test-mcp-server.js';
import { smartReply } from '../http/stack.js';
import { call, eventNames, parseSse, startWorkers, type Worker } from './worker-process.js';

// Several real Node processes (Express 5 + createChatHandler + redisStorage) sharing one Redis
// and key prefix: the contract's §4, "any process serves any user". Runs on the shared Redis
// and on a Redis Cluster started for it.
const PREFIX = `llmchat-mp:${randomUUID()}:`;
const MCP_TOKEN = 'mcp-token-multiprocess';
// Long enough that a stalled machine (a CI run on two busy cores) does not lose a renewal; the
// takeover test waits about this long for a killed process's lease to lapse.
const LOCK_TTL_MS = 2500;

/** The user a fake LLM request belongs to: workers put nothing user-specific in it, so tests tag messages. */
function lastUserText(request: RecordedRequest): string {
  const users = (request.body?.messages ?? []).filter((m: { role: string }) => m.role === 'user');
  return String(users.at(-1)?.content ?? '');
}

for (const kind of REDIS_TARGETS) {
  const available = await redisTargetAvailable(kind, 'Multi-process tests');
  describe.skipIf(!available)(`several processes sharing ${kind}`, () => {
    let llm: FakeLlmServer;
    let mcp: TestMcpHttpServer;
    let target: RedisTarget;
    let a: Worker;
    let b: Worker;
    let c: Worker;
    let victim: Worker;
    const workers: Worker[] = [];

    beforeAll(async () => {
      target = await openRedisTarget(kind, PREFIX);
      // "hold" answers take about 1.5 s, so concurrent requests surely meet a held turn lock.
      llm = await startFakeOpenAI({
        reply: (request) =>
          /hold/.test(lastUserText(request))
            ? { kind: 'text', chunks: Array.from({ length: 10 }, (_, i) => `h${i} `), delayMs: 150 }
            : smartReply(request),
      });
      mcp = await startTestMcpHttpServer({ authToken: MCP_TOKEN });
      const config = {
        redisUrl: target.url,
        keyPrefix: PREFIX,
        llmUrl: llm.url,
        mcpUrl: mcp.url,
        mcpToken: MCP_TOKEN,
        lockTtlMs: LOCK_TTL_MS,
      };
      // tsx startup costs about a second per process: start them all at once.
      await startWorkers(workers, ['A', 'B', 'C', 'victim'], config);
      [a, b, c, victim] = workers as [Worker, Worker, Worker, Worker];
      // Each worker listens for other processes' disconnects before the tests start.
      await vi.waitFor(
        () => {
          for (const worker of workers)
            expect(worker.stderr.join('\n'), worker.name).toContain('following disconnects');
        },
        { timeout: 10_000, interval: 50 },
      );
    }, 90_000);

    afterAll(async () => {
      await Promise.all(workers.map((worker) => worker.stop()));
      await Promise.all([llm?.close(), mcp?.close()]);
      await target?.close();
    });

    it('connects on A, chats with a tool on B and again on C with the same history, disconnects everywhere from C, closing every MCP session', async () => {
      const user = 'ann';
      const connected = await call(a.baseUrl, '/connect', { user, body: { llm: { model: 'fake' }, streaming: true } });
      expect(connected.status).toBe(200);
      expect(connected.json.tools).toContain('add');
      // Connect lists the tools and keeps no MCP session open.
      expect(mcp.sessionCount).toBe(0);

      const onB = await call(b.baseUrl, '/chat', { user, body: { message: 'please add 2 and 3', streaming: true } });
      expect(onB.status).toBe(200);
      const frames = parseSse(onB.text);
      expect(eventNames(frames)).toEqual(['tool_start', 'tool_end', 'token', 'final']);
      expect(frames[1]?.data).toMatchObject({ tool: 'add', output: '5' });
      expect(frames.at(-1)?.data).toMatchObject({ content: 'The result is 5.', tools: ['add'] });

      const onC = await call(c.baseUrl, '/chat', { user, body: { message: 'what did I ask?' } });
      expect(onC.status).toBe(200);
      expect(onC.json.response).toBe('Hello from the fake.');
      // C never saw this user before, yet its LLM request carries B's whole turn.
      const sent = llm.requests.at(-1)?.body.messages as Array<Record<string, unknown>>;
      expect(sent).toEqual([
        { role: 'user', content: 'please add 2 and 3' },
        expect.objectContaining({
          role: 'assistant',
          tool_calls: [expect.objectContaining({ function: { name: 'add', arguments: '{"a":2,"b":3}' } })],
        }),
        expect.objectContaining({ role: 'tool', content: '5' }),
        expect.objectContaining({ role: 'assistant', content: 'The result is 5.' }),
        { role: 'user', content: 'what did I ask?' },
      ]);
      // Only B's tool call opened an MCP session; C's turn without tools opened none.
      expect(mcp.sessionCount).toBe(1);
      const onA = await call(a.baseUrl, '/chat', { user, body: { message: 'please add 1 and 1' } });
      expect(onA.json.tools).toEqual(['add']);

      for (const worker of [a, b, c]) {
        expect((await call(worker.baseUrl, `/status/${user}`, { user })).json.connected, worker.name).toBe(true);
      }
      // A and B each hold an MCP session for the user.
      expect(mcp.sessionCount).toBe(2);
      const bye = await call(c.baseUrl, '/disconnect', { user, body: {} });
      expect(bye.json.status).toBe('disconnected');
      // C told A and B over Redis pub/sub: their MCP sessions close now, not at the idle timeout.
      await vi.waitFor(() => expect(mcp.sessionCount).toBe(0), { timeout: 5000, interval: 20 });
      for (const worker of [a, b, c]) {
        const chat = await call(worker.baseUrl, '/chat', { user, body: { message: 'still there?' } });
        expect([chat.status, chat.json.code], worker.name).toEqual([400, 'SESSION_NOT_FOUND']);
        expect((await call(worker.baseUrl, `/status/${user}`, { user })).json.connected, worker.name).toBe(false);
      }
    });

    it('lets exactly one of concurrent chats of a user across processes run; the others get 409', async () => {
      const user = 'bea';
      expect((await call(b.baseUrl, '/connect', { user, body: { llm: { model: 'fake' } } })).status).toBe(200);
      const before = llm.requests.length;
      const answers = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          call([a, b, c][i % 3]?.baseUrl as string, '/chat', {
            user,
            body: { message: `hold ${i}`, streaming: i % 2 === 0 },
          }),
        ),
      );
      const statuses = answers.map((answer) => answer.status).sort();
      expect(statuses).toEqual([200, ...Array(11).fill(409)]);
      for (const answer of answers.filter((x) => x.status === 409)) expect(answer.json.code).toBe('TURN_IN_PROGRESS');
      const winner = answers.find((answer) => answer.status === 200) as (typeof answers)[number];
      if (winner.headers.get('content-type')?.startsWith('text/event-stream')) {
        expect(parseSse(winner.text).at(-1)?.event).toBe('final');
      }
      expect(llm.requests.slice(before).filter((r) => lastUserText(r).startsWith('hold'))).toHaveLength(1);
      // The lock went with the turn: the next chat, on any process, runs.
      expect((await call(c.baseUrl, '/chat', { user, body: { message: 'next' } })).status).toBe(200);
    });

    it('survives concurrent chats of users with no session, and racing turns, with no unhandled rejection', async () => {
      // Workers run with Node's default --unhandled-rejections=throw: one stray rejection kills one.
      const answers = await Promise.all(
        ['nobody-1', 'nobody-2', 'nobody-3'].flatMap((user) =>
          Array.from({ length: 12 }, (_, i) =>
            call([a, b, c][i % 3]?.baseUrl as string, '/chat', {
              user,
              body: { message: `race ${i}`, streaming: i % 2 === 0 },
            }),
          ),
        ),
      );
      for (const answer of answers) {
        expect(
          [
            [400, 'SESSION_NOT_FOUND'],
            [409, 'TURN_IN_PROGRESS'],
          ],
          answer.text,
        ).toContainEqual([answer.status, answer.json?.code]);
      }
      for (const worker of [a, b, c]) {
        expect(worker.exited, worker.name).toBe(false);
        expect((await call(worker.origin, '/alive')).status, worker.name).toBe(200);
      }
    });

    it('a process killed mid-turn blocks its user only until the lease ends, then its turn is finished elsewhere', async () => {
      const user = 'cid';
      expect((await call(a.baseUrl, '/connect', { user, body: { llm: { model: 'fake' } } })).status).toBe(200);
      expect((await call(b.baseUrl, '/chat', { user, body: { message: 'first turn' } })).status).toBe(200);

      const stream = await fetch(`${victim.baseUrl}/chat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer user:${user}` },
        body: JSON.stringify({ message: 'talk slowly', streaming: true }),
        signal: AbortSignal.timeout(20_000),
      });
      expect(stream.status).toBe(200);
      const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
      expect(new TextDecoder().decode((await reader.read()).value)).toContain('event: token');
      const victimRequest = llm.requests.at(-1) as RecordedRequest;

      await victim.kill();
      const killedAt = Date.now();
      await reader.read().catch(() => {});

      const blocked = await call(a.baseUrl, '/chat', { user, body: { message: 'right after the kill' } });
      expect([blocked.status, blocked.json.code]).toEqual([409, 'TURN_IN_PROGRESS']);

      let freed: Awaited<ReturnType<typeof call>> | undefined;
      while (Date.now() - killedAt < LOCK_TTL_MS + 5000) {
        const attempt = await call(b.baseUrl, '/chat', { user, body: { message: 'after the lease' } });
        if (attempt.status !== 409) {
          freed = attempt;
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const waitedMs = Date.now() - killedAt;
      expect(freed?.status).toBe(200);
      // The lease is 1.5 s; renewals every 0.5 s: the lock outlives the process by at most a lease.
      expect(waitedMs).toBeLessThan(LOCK_TTL_MS + 3000);

      await victimRequest.settled;
      expect(victimRequest.aborted).toBe(true);
      // The completed turn survived; the killed one was taken over by the next request once the
      // lease ended and finished there (CONTRACT §5: its recorded text kept, the LLM asked to
      // continue), before that request could start its own turn.
      const sent = llm.requests.at(-1)?.body.messages as Array<{ role: string; content: unknown }>;
      expect(sent.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant', 'user']);
      expect(sent.slice(0, 3).map((m) => m.content)).toEqual(['first turn', 'Hello from the fake.', 'talk slowly']);
      expect(String(sent[3]?.content)).toMatch(/^w0 .*Hello from the fake\.$/);
      expect(sent[4]?.content).toBe('after the lease');
    });
  });
}
