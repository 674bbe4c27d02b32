import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CONTINUE_INSTRUCTION } from '../../src/chat/continue-answer.js';
import { INTERRUPTED_CALL_MESSAGE } from '../../src/http/turn-takeover.js';
import type { FakeReply, RecordedRequest } from '../fixtures/fake-llm-common.js';
import { type FakeLlmServer, startFakeOpenAI } from '../fixtures/fake-openai-server.js';
import { createTestMcpServer, startTestMcpHttpServer, type TestMcpHttpServer } from '../fixtures/test-mcp-server.js';
import { countWords, type SseFrame, SseReader, textOf } from '../turns/turn-helpers.js';
import { deletePrefix, REDIS_URL, requireRedis, startWorkers, type Worker, workerRequest } from './worker-process.js';

// CONTRACT §5, "a process that dies mid-turn": the process running a turn is SIGKILLed mid-stream,
// mid-tool or between rounds; a reader on another process takes the turn over once the lease
// ends, and every reader sees each event once, with no repeated text, and history one turn.
const available = await requireRedis('Turn takeover tests');
const PREFIX = `llmchat-takeover:${randomUUID()}:`;
const LOCK_TTL_MS = 800;
const WORDS = 80;

type Message = { role: string; content?: unknown; tool_calls?: unknown[] };

/**
 * The fake LLM's script, by the conversation so far:
 * - a continuation request (the cut answer, then the continuation instruction): the words of
 *   "count N" after those already in the cut answer;
 * - "count N": `c1 ` … `cN `, one every 30 ms;
 * - "slow write" / "slow read": one call of `slow_write` (not idempotent) / `slow` (read-only);
 * - "between rounds": one call of `counter` (not idempotent); the first answer after its result
 *   never comes (the process dies waiting), the next one does;
 * - after tool results: "done after tools".
 */
function takeoverReply(): (request: RecordedRequest) => FakeReply {
  const stalled = new Set<string>();
  return (request) => {
    const messages = (request.body?.messages ?? []) as Message[];
    const last = messages.at(-1);
    const asked = String(messages.findLast((m) => m.role === 'user' && m.content !== CONTINUE_INSTRUCTION)?.content);
    if (last?.role === 'user' && last.content === CONTINUE_INSTRUCTION) {
      const cut = String(messages.at(-2)?.content ?? '');
      const said = cut.trim() === '' ? 0 : cut.trim().split(/\s+/).length;
      const total = Number(/count (\d+)/.exec(asked)?.[1] ?? 0);
      return { kind: 'text', chunks: countWords(total).slice(said), delayMs: 5 };
    }
    if (last?.role === 'tool') {
      if (asked.includes('between rounds') && !stalled.has(asked)) {
        stalled.add(asked);
        return { kind: 'stall', phase: 'before_headers' };
      }
      return { kind: 'text', chunks: ['done ', 'after ', 'tools'] };
    }
    const count = /count (\d+)/.exec(asked);
    if (count) return { kind: 'text', chunks: countWords(Number(count[1])), delayMs: 30 };
    if (asked.includes('slow write'))
      return { kind: 'tool_calls', calls: [{ name: 'slow_write', arguments: { ms: 4000 } }] };
    if (asked.includes('slow read')) return { kind: 'tool_calls', calls: [{ name: 'slow', arguments: { ms: 3000 } }] };
    if (asked.includes('between rounds')) return { kind: 'tool_calls', calls: [{ name: 'counter', arguments: {} }] };
    return { kind: 'text', chunks: ['Hello.'] };
  };
}

describe.skipIf(!available)('a turn taken over after its process was killed', () => {
  let llm: FakeLlmServer;
  let mcp: TestMcpHttpServer;
  let redis: Redis;
  let b: Worker;
  const victims: Worker[] = [];
  const workers: Worker[] = [];

  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    llm = await startFakeOpenAI({ reply: takeoverReply() });
    mcp = await startTestMcpHttpServer({
      // The test server's tools, plus a slow tool that is not safe to run twice.
      createServer: (stats) => {
        const server = createTestMcpServer(stats);
        server.registerTool(
          'slow_write',
          {
            description: 'Writes something slowly.',
            inputSchema: { ms: z.number() },
            annotations: { readOnlyHint: false, idempotentHint: false },
          },
          async ({ ms }) => {
            stats.calls.slow_write = (stats.calls.slow_write ?? 0) + 1;
            await new Promise((resolve) => setTimeout(resolve, ms));
            return { content: [{ type: 'text', text: 'written' }] };
          },
        );
        return server;
      },
    });
    const config = { redisUrl: REDIS_URL, keyPrefix: PREFIX, llmUrl: llm.url, mcpUrl: mcp.url, lockTtlMs: LOCK_TTL_MS };
    // One victim a test, and two spare for a test that CI runs again (see vitest.config.ts).
    await startWorkers(workers, ['B', 'A1', 'A2', 'A3', 'A4', 'A5', 'A6', 'A7', 'A8'], config);
    [b] = workers as [Worker];
    victims.push(...workers.slice(1));
  }, 90_000);

  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.stop()));
    await Promise.all([llm?.close(), mcp?.close()]);
    if (redis) {
      await deletePrefix(redis, PREFIX);
      await redis.quit();
    }
  });

  function send(worker: Worker, path: string, user: string, body?: unknown) {
    return workerRequest(worker, path, user, body, 30_000);
  }

  /**
   * Starts `message` as a streamed turn on a victim process, follows it from B, lets `killWhen`
   * decide (from B's frames) when to SIGKILL the victim, and reads B's stream to its end.
   */
  async function killMidTurn(
    user: string,
    message: string,
    killWhen: (frames: SseFrame[]) => boolean | Promise<boolean>,
  ) {
    const victim = victims.shift() as Worker;
    expect((await send(victim, '/connect', user, { llm: { model: 'fake' } })).status).toBe(200);
    const started = await send(victim, '/chat', user, { message, streaming: true });
    const turnId = started.headers.get('x-turn-id');
    // The victim's own reader dies with it.
    void new SseReader(started).all().catch(() => {});
    const reader = new SseReader(await send(b, `/chat/events/${user}`, user));
    const all = reader.all();
    await expect.poll(() => killWhen(reader.frames), { timeout: 15_000, interval: 5 }).toBe(true);
    await victim.kill();
    const frames = await all;
    return { frames, turnId };
  }

  /** Every frame once, in order, one `final` at the end, under the one turn id. */
  function expectOnceInOrder(frames: SseFrame[], turnId: string | null) {
    expect(frames.map((frame) => frame.id)).toEqual(frames.map((_, i) => `${turnId}:${i + 1}`));
    expect(frames.filter((frame) => frame.event === 'final' || frame.event === 'error').length).toBe(1);
    expect(frames.at(-1)).toMatchObject({ event: 'final', data: { turn_id: turnId, content: textOf(frames) } });
  }

  async function historyOf(user: string) {
    const answer = await send(b, `/history/${user}`, user);
    expect(answer.status).toBe(200);
    return (await answer.json()).messages as Array<Record<string, unknown>>;
  }

  it('mid-stream: the answer is continued, not repeated, and the LLM is asked to continue it', async () => {
    const { frames, turnId } = await killMidTurn('tk-stream', `count ${WORDS}`, (seen) => textOf(seen).length > 20);
    expectOnceInOrder(frames, turnId);
    expect(textOf(frames)).toBe(countWords(WORDS).join(''));
    // The continuation request: the cut answer as an assistant message, then the instruction.
    const continuation = llm.requests.find(
      (request) => request.body?.messages?.at(-1)?.content === CONTINUE_INSTRUCTION,
    );
    const sent = continuation?.body.messages as Message[];
    expect(sent.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    const cut = String(sent[1]?.content);
    expect(cut.length).toBeGreaterThan(0);
    expect(countWords(WORDS).join('').startsWith(cut)).toBe(true);
    const history = await historyOf('tk-stream');
    expect(history.map((m) => [m.role, m.content])).toEqual([
      ['user', `count ${WORDS}`],
      ['assistant', countWords(WORDS).join('')],
    ]);
  });

  it('mid-tool, not idempotent: the cut call gets an "interrupted" result and is not run again', async () => {
    const { frames, turnId } = await killMidTurn(
      'tk-write',
      'slow write please',
      () => (mcp.stats.calls.slow_write ?? 0) > 0,
    );
    expectOnceInOrder(frames, turnId);
    expect(frames.map((frame) => frame.event).filter((event) => event !== 'token')).toEqual([
      'tool_start',
      'tool_error',
      'final',
    ]);
    expect(frames[1]?.data).toMatchObject({
      id: frames[0]?.data.id,
      tool: 'slow_write',
      error: INTERRUPTED_CALL_MESSAGE,
    });
    expect(textOf(frames)).toBe('done after tools');
    expect(mcp.stats.calls.slow_write).toBe(1);
    const history = await historyOf('tk-write');
    expect(history).toHaveLength(2);
    expect(history[1]).toMatchObject({
      content: 'done after tools',
      tool_calls: [{ tool: 'slow_write', error: INTERRUPTED_CALL_MESSAGE }],
    });
  });

  it('mid-tool, read-only: the cut call runs again, and readers see one start and one end', async () => {
    const before = mcp.stats.calls.slow ?? 0;
    const { frames, turnId } = await killMidTurn(
      'tk-read',
      'slow read please',
      () => (mcp.stats.calls.slow ?? 0) > before,
    );
    expectOnceInOrder(frames, turnId);
    expect(frames.map((frame) => frame.event).filter((event) => event !== 'token')).toEqual([
      'tool_start',
      'tool_end',
      'final',
    ]);
    expect(mcp.stats.calls.slow).toBe(before + 2);
    expect(textOf(frames)).toBe('done after tools');
    expect(await historyOf('tk-read')).toHaveLength(2);
  });

  it('between rounds: the finished tool is not run again, the next LLM round runs on the new process', async () => {
    const counted = mcp.stats.calls.counter ?? 0;
    const { frames, turnId } = await killMidTurn('tk-rounds', 'between rounds please', (seen) =>
      seen.some((frame) => frame.event === 'tool_end'),
    );
    expectOnceInOrder(frames, turnId);
    expect(frames.map((frame) => frame.event).filter((event) => event !== 'token')).toEqual([
      'tool_start',
      'tool_end',
      'final',
    ]);
    expect(mcp.stats.calls.counter).toBe(counted + 1);
    expect(textOf(frames)).toBe('done after tools');
    // The dead process's second round (never answered), then the new process's: both sent the
    // recorded call and its result.
    const afterTool = llm.requests.filter((request) => {
      const messages = (request.body?.messages ?? []) as Message[];
      return messages[0]?.content === 'between rounds please' && messages.at(-1)?.role === 'tool';
    });
    expect(afterTool.map((request) => request.body.messages.map((m: Message) => m.role))).toEqual([
      ['user', 'assistant', 'tool'],
      ['user', 'assistant', 'tool'],
    ]);
    expect(afterTool[1]?.finished).toBe(true);
    const history = await historyOf('tk-rounds');
    expect(history).toHaveLength(2);
    expect(history[1]).toMatchObject({
      content: 'done after tools',
      tool_calls: [{ tool: 'counter', output: String(counted + 1) }],
    });
  });

  it('the next request touching the conversation takes the turn over when no reader is attached', async () => {
    const victim = victims.shift() as Worker;
    const user = `tk-next-${randomUUID().slice(0, 8)}`;
    expect((await send(victim, '/connect', user, { llm: { model: 'fake' } })).status).toBe(200);
    const response = await send(victim, '/chat', user, { message: `count ${WORDS}`, streaming: true });
    const turnId = response.headers.get('x-turn-id') as string;
    const started = new SseReader(response);
    await started.until(5);
    await victim.kill();
    // The lease has not ended at once: a send meets the turn as running; once it ended, a send
    // takes the turn over (and still meets it running), and a reader then reads it to its end.
    const statuses: number[] = [];
    try {
      await expect
        .poll(
          async () => {
            statuses.push((await send(b, '/chat', user, { message: 'next one' })).status);
            return turnRunsOn(user, turnId);
          },
          { timeout: 15_000, interval: 100 },
        )
        .toBe(true);
    } catch (error) {
      throw new Error(`not taken over: statuses ${statuses.join(',')}; B: ${b.stderr.slice(-15).join('\n')}`, {
        cause: error,
      });
    }
    expect(new Set(statuses)).toEqual(new Set([409]));
    expect(await latestTurnId(user)).toBe(turnId);
    const frames = await new SseReader(await send(b, `/chat/events/${user}`, user)).all();
    expectOnceInOrder(frames, turnId);
    expect(textOf(frames)).toBe(countWords(WORDS).join(''));
  });

  it('a process only paused past its lease is fenced out when it wakes: it writes no event and saves no history', async () => {
    const victim = victims.shift() as Worker;
    const user = 'tk-paused';
    expect((await send(victim, '/connect', user, { llm: { model: 'fake' } })).status).toBe(200);
    const started = await send(victim, '/chat', user, { message: `count ${WORDS}`, streaming: true });
    const turnId = started.headers.get('x-turn-id');
    void new SseReader(started).all().catch(() => {});
    const reader = new SseReader(await send(b, `/chat/events/${user}`, user));
    const all = reader.all();
    await expect.poll(() => textOf(reader.frames).length > 20, { timeout: 15_000, interval: 5 }).toBe(true);
    victim.process.kill('SIGSTOP');
    const frames = await all;
    expectOnceInOrder(frames, turnId);
    expect(textOf(frames)).toBe(countWords(WORDS).join(''));
    victim.process.kill('SIGCONT');
    // Awake, it finds its writes refused and stops; the history save it then tries is refused too.
    await expect
      .poll(() => victim.stderr.some((line) => line.includes('taken over by another process')), { timeout: 15_000 })
      .toBe(true);
    await expect
      .poll(() => victim.stderr.some((line) => line.includes('was not saved here')), { timeout: 15_000 })
      .toBe(true);
    const stored = await redis.xrange(`${PREFIX}{u:${user}}:turn-events:${turnId}`, '-', '+');
    expect(stored.length).toBe(frames.length);
    expect((await historyOf(user)).map((m) => [m.role, m.content])).toEqual([
      ['user', `count ${WORDS}`],
      ['assistant', countWords(WORDS).join('')],
    ]);
  });

  /** Whether `turnId` of `user` is now recorded as run by a process other than the dead one. */
  async function turnRunsOn(user: string, turnId: string): Promise<boolean> {
    const raw = await redis.get(`${PREFIX}{u:${user}}:turn-fence:${turnId}`);
    return raw !== null && Number(raw) >= 2;
  }

  async function latestTurnId(user: string): Promise<string | undefined> {
    const raw = await redis.get(`${PREFIX}{u:${user}}:turn-latest`);
    return raw === null ? undefined : (JSON.parse(raw) as { turnId: string }).turnId;
  }
});
