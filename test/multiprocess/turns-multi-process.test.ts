import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeLlmServer, startFakeOpenAI } from '../fixtures/fake-openai-server.js';
import { startTestMcpHttpServer, type TestMcpHttpServer } from '../fixtures/test-mcp-server.js';
import { countWords, SseReader, textOf, turnReply } from '../turns/turn-helpers.js';
import { deletePrefix, REDIS_URL, requireRedis, startWorkers, type Worker } from './worker-process.js';

// CONTRACT §5 across real processes sharing one Redis: a turn runs on one process, and is read,
// resumed, stopped and retried from others.
const available = await requireRedis('Multi-process turn tests');
const PREFIX = `llmchat-turns-mp:${randomUUID()}:`;
const RETENTION_MS = 1500;

describe.skipIf(!available)('turns across processes sharing Redis', () => {
  let llm: FakeLlmServer;
  let mcp: TestMcpHttpServer;
  let redis: Redis;
  let a: Worker;
  let b: Worker;
  let c: Worker;
  const workers: Worker[] = [];

  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    llm = await startFakeOpenAI({ reply: turnReply });
    mcp = await startTestMcpHttpServer();
    const config = {
      redisUrl: REDIS_URL,
      keyPrefix: PREFIX,
      llmUrl: llm.url,
      mcpUrl: mcp.url,
      lockTtlMs: 3000,
      turnRetentionMs: RETENTION_MS,
    };
    await startWorkers(workers, ['A', 'B', 'C'], config);
    [a, b, c] = workers as [Worker, Worker, Worker];
  }, 90_000);

  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.stop()));
    await Promise.all([llm?.close(), mcp?.close()]);
    if (redis) {
      await deletePrefix(redis, PREFIX);
      await redis.quit();
    }
  });

  function send(worker: Worker, path: string, user: string, body?: unknown, headers: Record<string, string> = {}) {
    return fetch(`${worker.baseUrl}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer user:${user}`, ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(20_000),
    });
  }
  async function connect(worker: Worker, user: string) {
    expect((await send(worker, '/connect', user, { llm: { model: 'fake' } })).status).toBe(200);
  }
  const lastRequestFor = (text: string) =>
    llm.requests.findLast((request) =>
      (request.body?.messages ?? []).some(
        (m: { role: string; content: unknown }) => m.role === 'user' && m.content === text,
      ),
    );

  it('a reload mid-answer, resumed on another process, gets exactly the remaining events', async () => {
    await connect(a, 'mp-reload');
    const started = await send(a, '/chat', 'mp-reload', { message: 'count 60', streaming: true });
    const turnId = started.headers.get('x-turn-id');
    const first = new SseReader(started);
    const seen = (await first.until(6)).slice(0, 6);
    await first.cancel();
    const resumed = await send(b, '/chat/events/mp-reload', 'mp-reload', undefined, {
      'last-event-id': seen.at(-1)?.id as string,
    });
    expect(resumed.status).toBe(200);
    const rest = await new SseReader(resumed).all();
    const all = [...seen, ...rest];
    expect(all.map((frame) => frame.id)).toEqual(all.map((_, i) => `${turnId}:${i + 1}`));
    expect(textOf(all)).toBe(countWords(60).join(''));
    expect(rest.at(-1)).toMatchObject({ event: 'final', data: { content: countWords(60).join(''), turn_id: turnId } });
    // The turn on A outlived its reader: the LLM answered to the end.
    expect(lastRequestFor('count 60')?.aborted).toBe(false);
    // A third process, given the final id, has nothing more to send.
    expect(
      (await send(c, '/chat/events/mp-reload', 'mp-reload', undefined, { 'last-event-id': rest.at(-1)?.id as string }))
        .status,
    ).toBe(204);
  });

  it('two readers on two other processes see the same events as the first reader', async () => {
    await connect(b, 'mp-readers');
    const started = await send(a, '/chat', 'mp-readers', { message: 'count 30', streaming: true });
    const onB = await send(b, '/chat/events/mp-readers', 'mp-readers');
    const onC = await send(c, '/chat/events/mp-readers', 'mp-readers');
    const [x, y, z] = await Promise.all([
      new SseReader(started).all(),
      new SseReader(onB).all(),
      new SseReader(onC).all(),
    ]);
    expect(x.at(-1)?.event).toBe('final');
    expect(y).toEqual(x);
    expect(z).toEqual(x);
  });

  it('stops a turn on A from B while it streams: LLM request closed, every reader ends with final stopped', async () => {
    await connect(a, 'mp-stop');
    const started = await send(a, '/chat', 'mp-stop', { message: 'count 400', streaming: true });
    const reader = new SseReader(started);
    await reader.until(3);
    const onC = new SseReader(await send(c, '/chat/events/mp-stop', 'mp-stop'));
    await onC.until(3);
    const stopped = await send(b, '/stop', 'mp-stop', {});
    expect(await stopped.json()).toEqual({
      status: 'stopped',
      user_id: 'mp-stop',
      turn_id: started.headers.get('x-turn-id'),
    });
    const llmRequest = lastRequestFor('count 400');
    await llmRequest?.settled;
    expect(llmRequest?.aborted).toBe(true);
    const [x, y] = await Promise.all([reader.all(), onC.all()]);
    expect(y).toEqual(x);
    expect(x.at(-1)).toMatchObject({ event: 'final', data: { stopped: true, content: textOf(x) } });
    // The partial turn is in the history, and the next turn's request is accepted by the LLM.
    const next = await send(c, '/chat', 'mp-stop', { message: 'hello?' });
    expect((await next.json()).response).toBe('Hello from the fake.');
    const history = lastRequestFor('hello?')?.body.messages;
    expect(history.map((m: { role: string }) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(history[1].content).toBe(textOf(x));
  });

  it('stops from B a turn on A that waits on a slow tool, and one that waits for the first LLM byte', async () => {
    await connect(a, 'mp-stop-tool');
    const cancelled = mcp.stats.slowCancelled;
    const started = await send(a, '/chat', 'mp-stop-tool', { message: 'run the slow tool', streaming: true });
    const reader = new SseReader(started);
    await reader.until(1);
    await expect.poll(() => mcp.stats.slowStarted, { timeout: 5000 }).toBeGreaterThan(0);
    expect(await (await send(b, '/stop', 'mp-stop-tool', {})).json()).toMatchObject({ status: 'stopped' });
    expect((await reader.all()).at(-1)).toMatchObject({ event: 'final', data: { stopped: true, tools: ['slow'] } });
    await expect.poll(() => mcp.stats.slowCancelled, { timeout: 5000 }).toBe(cancelled + 1);

    const stalled = new SseReader(await send(a, '/chat', 'mp-stop-tool', { message: 'stall here', streaming: true }));
    await expect.poll(() => lastRequestFor('stall here') !== undefined, { timeout: 5000 }).toBe(true);
    expect(await (await send(b, '/stop', 'mp-stop-tool', {})).json()).toMatchObject({ status: 'stopped' });
    await lastRequestFor('stall here')?.settled;
    expect(lastRequestFor('stall here')?.aborted).toBe(true);
    expect((await stalled.all()).at(-1)).toMatchObject({ event: 'final', data: { stopped: true } });
    expect((await send(b, '/chat', 'mp-stop-tool', { message: 'hello?' })).status).toBe(200);
  });

  it('a send retried with its Idempotency-Key on other processes, during and after the turn, runs the LLM once', async () => {
    await connect(a, 'mp-idem');
    const key = { 'idempotency-key': `k-${randomUUID()}` };
    const before = llm.requests.length;
    const first = await send(a, '/chat', 'mp-idem', { message: 'count 20', streaming: true }, key);
    const during = await send(b, '/chat', 'mp-idem', { message: 'count 20', streaming: true }, key);
    expect(during.status).toBe(200);
    const [x, y] = await Promise.all([new SseReader(first).all(), new SseReader(during).all()]);
    expect(y).toEqual(x);
    const after = await send(c, '/chat', 'mp-idem', { message: 'count 20' }, key);
    expect(await after.json()).toMatchObject({
      response: countWords(20).join(''),
      turn_id: first.headers.get('x-turn-id'),
    });
    expect(llm.requests.length - before).toBe(1);
    const reused = await send(b, '/chat', 'mp-idem', { message: 'count 21' }, key);
    expect([reused.status, (await reused.json()).code]).toEqual([422, 'IDEMPOTENCY_KEY_REUSED']);
  });

  it('drops the events of a turn from Redis after the retention time', async () => {
    await connect(a, 'mp-retention');
    const frames = await new SseReader(
      await send(a, '/chat', 'mp-retention', { message: 'hello?', streaming: true }),
    ).all();
    const pattern = `${PREFIX}{u:mp-retention}:*turn*`;
    expect((await redis.keys(pattern)).length).toBeGreaterThan(0);
    await expect.poll(() => redis.keys(pattern), { timeout: RETENTION_MS + 3000, interval: 100 }).toEqual([]);
    const lost = await new SseReader(
      await send(b, '/chat/events/mp-retention', 'mp-retention', undefined, {
        'last-event-id': frames[0]?.id as string,
      }),
    ).all();
    expect(lost.map((frame) => frame.data.code)).toEqual(['RESUME_LOST']);
    expect((await send(b, '/chat/events/mp-retention', 'mp-retention')).status).toBe(204);
  });
});
