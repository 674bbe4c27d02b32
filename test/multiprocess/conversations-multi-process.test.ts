import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeLlmServer, startFakeOpenAI } from '../fixtures/fake-openai-server.js';
import { startTestMcpHttpServer, type TestMcpHttpServer } from '../fixtures/test-mcp-server.js';
import { countWords, SseReader, textOf, turnReply } from '../turns/turn-helpers.js';
import { deletePrefix, REDIS_URL, requireRedis, startWorkers, type Worker } from './worker-process.js';

// CONTRACT §6 across real processes sharing one Redis: conversations made on one process are
// listed, read, followed, deleted and capped from the others.
const available = await requireRedis('Multi-process conversation tests');
const PREFIX = `llmchat-conv-mp:${randomUUID()}:`;
/** The idle lifetime of a conversation on worker C. */
const SHORT_TTL_MS = 2000;
/** Workers A and B let a user run this many conversations at once. */
const CAP = 2;

describe.skipIf(!available)('conversations across processes sharing Redis', () => {
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
    const config = { redisUrl: REDIS_URL, keyPrefix: PREFIX, llmUrl: llm.url, mcpUrl: mcp.url, lockTtlMs: 3000 };
    await startWorkers(workers, ['A', 'B'], { ...config, maxConcurrentConversations: CAP });
    await startWorkers(workers, ['C'], { ...config, historyTtlMs: SHORT_TTL_MS, turnRetentionMs: SHORT_TTL_MS });
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

  function send(worker: Worker, path: string, user: string, body?: unknown, method?: string) {
    return fetch(`${worker.baseUrl}${path}`, {
      method: method ?? (body === undefined ? 'GET' : 'POST'),
      headers: { 'content-type': 'application/json', authorization: `Bearer user:${user}` },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(20_000),
    });
  }
  async function json(worker: Worker, path: string, user: string, body?: unknown, method?: string) {
    const response = await send(worker, path, user, body, method);
    return { status: response.status, body: await response.json() };
  }
  async function connect(worker: Worker, user: string) {
    expect((await send(worker, '/connect', user, { llm: { model: 'fake' } })).status).toBe(200);
  }
  async function chat(worker: Worker, user: string, conversation: string, message: string) {
    const answer = await json(worker, '/chat', user, { message, conversation_id: conversation });
    expect(answer.status).toBe(200);
    return answer.body;
  }
  const listed = async (worker: Worker, user: string) =>
    (await json(worker, `/conversations/${user}`, user)).body.conversations as Array<Record<string, unknown>>;
  const history = async (worker: Worker, user: string, conversation: string) =>
    (await json(worker, `/history/${user}?conversation_id=${conversation}`, user)).body.messages as Array<
      Record<string, unknown>
    >;
  const keysOf = (user: string) => redis.keys(`${PREFIX}*{u:${user}}*`);

  it('lists and reads on B the conversations made on A, and B sees each new turn of A', async () => {
    await connect(a, 'mp-list');
    await chat(a, 'mp-list', 'trip', 'count 3');
    await chat(a, 'mp-list', 'work', 'count 4');
    const onB = await listed(b, 'mp-list');
    expect(onB.map((entry) => [entry.conversation_id, entry.title, entry.turns, entry.running])).toEqual([
      ['work', 'count 4', 1, false],
      ['trip', 'count 3', 1, false],
    ]);
    expect((await history(b, 'mp-list', 'trip')).map((m) => [m.role, m.content])).toEqual([
      ['user', 'count 3'],
      ['assistant', countWords(3).join('')],
    ]);
    // A second turn on A shows up on B at once, and moves its conversation to the top.
    await chat(a, 'mp-list', 'trip', 'count 2');
    expect((await history(b, 'mp-list', 'trip')).map((m) => m.content)).toEqual([
      'count 3',
      countWords(3).join(''),
      'count 2',
      countWords(2).join(''),
    ]);
    expect((await listed(b, 'mp-list')).map((entry) => [entry.conversation_id, entry.turns])).toEqual([
      ['trip', 2],
      ['work', 1],
    ]);
    // The default conversation is untouched by the named ones.
    expect(await history(b, 'mp-list', 'default')).toEqual([]);
  });

  it('follows from B, by conversation_id, a turn of that conversation running on A', async () => {
    await connect(a, 'mp-follow');
    await chat(a, 'mp-follow', 'other', 'count 2');
    const started = await send(a, '/chat', 'mp-follow', {
      message: 'count 40',
      streaming: true,
      conversation_id: 'live',
    });
    const first = new SseReader(started);
    await first.until(2);
    expect((await listed(b, 'mp-follow')).find((entry) => entry.conversation_id === 'other')?.running).toBe(false);
    const onB = await send(b, '/chat/events/mp-follow?conversation_id=live', 'mp-follow');
    expect(onB.status).toBe(200);
    // The other conversation's events are its own (its ended turn, replayed).
    const other = await new SseReader(await send(b, '/chat/events/mp-follow?conversation_id=other', 'mp-follow')).all();
    expect(other.at(-1)).toMatchObject({ event: 'final', data: { content: countWords(2).join('') } });
    const [x, y] = await Promise.all([first.all(), new SseReader(onB).all()]);
    expect(y).toEqual(x);
    expect(textOf(y)).toBe(countWords(40).join(''));
    expect(y.at(-1)).toMatchObject({ event: 'final', data: { turn_id: started.headers.get('x-turn-id') } });
  });

  it('deletes on B a conversation whose turn runs on A: the turn stops and nothing of it is left', async () => {
    await connect(a, 'mp-delete');
    await chat(a, 'mp-delete', 'keep', 'count 2');
    await chat(a, 'mp-delete', 'doomed', 'count 2');
    const started = await send(a, '/chat', 'mp-delete', {
      message: 'count 400',
      streaming: true,
      conversation_id: 'doomed',
    });
    const reader = new SseReader(started);
    await reader.until(3);
    expect((await listed(b, 'mp-delete')).find((entry) => entry.conversation_id === 'doomed')?.running).toBe(true);

    const deleted = await json(b, '/history/mp-delete?conversation_id=doomed', 'mp-delete', undefined, 'DELETE');
    expect(deleted).toEqual({ status: 200, body: { status: 'cleared', conversation_id: 'doomed' } });
    const frames = await reader.all();
    expect(frames.at(-1)).toMatchObject({ event: 'final', data: { stopped: true } });
    expect(textOf(frames).length).toBeLessThan(countWords(400).join('').length);
    // Gone everywhere: the list and history of every process, and its keys on Redis.
    for (const worker of [a, b, c]) {
      expect((await listed(worker, 'mp-delete')).map((entry) => entry.conversation_id)).toEqual(['keep']);
      expect(await history(worker, 'mp-delete', 'doomed')).toEqual([]);
    }
    expect(
      (await keysOf('mp-delete')).filter((key) => key.includes(':c:doomed:')).map((key) => key.slice(PREFIX.length)),
    ).toEqual([]);
    expect((await send(b, '/chat/events/mp-delete?conversation_id=doomed', 'mp-delete')).status).toBe(204);
    // The other conversation is intact, and the deleted one can start again from nothing.
    expect(await history(b, 'mp-delete', 'keep')).toHaveLength(2);
    await chat(b, 'mp-delete', 'doomed', 'count 1');
    expect((await history(a, 'mp-delete', 'doomed')).map((m) => m.content)).toEqual(['count 1', 'c1 ']);
  });

  it("drops a conversation's keys when it has been idle for its TTL, one conversation at a time", async () => {
    await connect(c, 'mp-ttl');
    await chat(c, 'mp-ttl', 'old', 'count 1');
    const oldKeys = (await keysOf('mp-ttl')).filter((key) => key.includes(':c:old:'));
    expect(oldKeys.length).toBeGreaterThan(0);
    for (const key of oldKeys) {
      const ttl = await redis.pttl(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(SHORT_TTL_MS);
    }
    await new Promise((resolve) => setTimeout(resolve, SHORT_TTL_MS / 2));
    await chat(c, 'mp-ttl', 'new', 'count 1');
    // The old conversation goes first; the newer one is still listed and readable meanwhile.
    await expect
      .poll(async () => (await keysOf('mp-ttl')).filter((key) => key.includes(':c:old:')), {
        timeout: SHORT_TTL_MS + 3000,
        interval: 100,
      })
      .toEqual([]);
    expect((await listed(a, 'mp-ttl')).map((entry) => entry.conversation_id)).toEqual(['new']);
    expect(await history(a, 'mp-ttl', 'old')).toEqual([]);
    expect(await history(a, 'mp-ttl', 'new')).toHaveLength(2);
    await expect
      .poll(async () => (await keysOf('mp-ttl')).filter((key) => key.includes('conversation') || key.includes(':c:')), {
        timeout: SHORT_TTL_MS + 3000,
        interval: 100,
      })
      .toEqual([]);
    expect(await listed(b, 'mp-ttl')).toEqual([]);
  });

  it(`runs at most ${CAP} of one user's conversations at once across processes (409 past the cap)`, async () => {
    await connect(a, 'mp-cap');
    const one = new SseReader(
      await send(a, '/chat', 'mp-cap', { message: 'count 200', streaming: true, conversation_id: 'one' }),
    );
    const two = new SseReader(
      await send(b, '/chat', 'mp-cap', { message: 'count 200', streaming: true, conversation_id: 'two' }),
    );
    await Promise.all([one.until(2), two.until(2)]);
    const third = await json(a, '/chat', 'mp-cap', { message: 'count 1', conversation_id: 'three' });
    expect([third.status, third.body.code]).toEqual([409, 'TURN_IN_PROGRESS']);
    const fourth = await json(b, '/chat', 'mp-cap', { message: 'count 1', conversation_id: 'three' });
    expect([fourth.status, fourth.body.code]).toEqual([409, 'TURN_IN_PROGRESS']);
    // Another user is not affected.
    await connect(b, 'mp-cap-other');
    await chat(b, 'mp-cap-other', 'three', 'count 1');
    // A refused turn left nothing behind: once one ends, the third conversation runs.
    expect(await json(b, '/stop', 'mp-cap', { conversation_id: 'one' })).toMatchObject({ status: 200 });
    expect((await one.all()).at(-1)).toMatchObject({ event: 'final', data: { stopped: true } });
    await expect
      .poll(async () => (await send(a, '/chat', 'mp-cap', { message: 'count 1', conversation_id: 'three' })).status, {
        timeout: 5000,
        interval: 100,
      })
      .toBe(200);
    expect((await two.all()).at(-1)).toMatchObject({ event: 'final', data: { content: countWords(200).join('') } });
  });
});
