import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedRequest } from '../fixtures/fake-llm-common.js';
import { type FakeLlmServer, startFakeOpenAI } from '../fixtures/fake-openai-server.js';
import { openRedisTarget, type RedisTarget, redisTargetAvailable } from '../fixtures/redis-targets.js';
import { startTestMcpHttpServer, type TestMcpHttpServer } from '../fixtures/test-mcp-server.js';
import { type Answer, call, parseSse, startWorkers, type Worker } from '../multiprocess/worker-process.js';

// A Redis Cluster master is killed (SIGKILL) while turns of its users are streaming. While its
// replica takes over, requests answer typed errors (503 BACKEND_UNAVAILABLE, or 409 while a
// turn still holds its lock) and streams end with one `error` event; no process dies. Once the
// cluster is healthy again, every user is served, within far less than a lock lease: a lock
// whose release failed during the failover is released again once Redis is back.
const available = await redisTargetAvailable('redis cluster', 'Redis Cluster failover test');
const PREFIX = `llmchat-failover:${randomUUID()}:`;
const LOCK_TTL_MS = 60_000;
const USERS = Array.from({ length: 9 }, (_, i) => `fo-${i}`);

/** A streamed chat, read to its end. */
async function streamChat(worker: Worker, user: string, message: string, onFirstToken: () => void) {
  const response = await fetch(`${worker.baseUrl}/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer user:${user}` },
    body: JSON.stringify({ message, streaming: true }),
    signal: AbortSignal.timeout(30_000),
  });
  if (response.status !== 200) return { status: response.status, frames: [], text: await response.text() };
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  let first = true;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    if (first && text.includes('event: token')) {
      first = false;
      onFirstToken();
    }
  }
  return { status: 200, frames: parseSse(text), text };
}

describe.skipIf(!available)('a Redis Cluster master dies mid-run', () => {
  let target: RedisTarget;
  let llm: FakeLlmServer;
  let mcp: TestMcpHttpServer;
  const workers: Worker[] = [];

  beforeAll(async () => {
    target = await openRedisTarget('redis cluster', PREFIX);
    // "slow" answers stream for about 1.5 s: the kill lands inside them, and they end (and try
    // to save) while the replica is still taking over.
    llm = await startFakeOpenAI({
      reply: (request: RecordedRequest) => {
        const last = request.body?.messages?.at(-1);
        return typeof last?.content === 'string' && last.content.includes('slow')
          ? { kind: 'text', chunks: Array.from({ length: 30 }, (_, i) => `s${i} `), delayMs: 50 }
          : { kind: 'text', chunks: ['fine'] };
      },
    });
    mcp = await startTestMcpHttpServer();
    await startWorkers(workers, ['fo-1', 'fo-2'], {
      redisUrl: target.url,
      keyPrefix: PREFIX,
      llmUrl: llm.url,
      mcpUrl: mcp.url,
      lockTtlMs: LOCK_TTL_MS,
      operationTimeoutMs: 1000,
    });
  }, 90_000);

  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.stop()));
    await Promise.all([llm?.close(), mcp?.close()]);
    await target?.close();
  });

  it('answers typed errors while the replica takes over, never crashes, and serves every user again', async () => {
    const cluster = target.cluster;
    if (!cluster) throw new Error('not a cluster');
    const worker = (i: number) => workers[i % workers.length] as Worker;
    for (const [i, user] of USERS.entries()) {
      const connected = await call(worker(i).baseUrl, '/connect', { user, body: { llm: { model: 'fake' } } });
      expect(connected.status, connected.text).toBe(200);
    }
    const masterOf = async (user: string) => cluster.masterPortOf(`${PREFIX}{u:${user}}:session`);
    const victimPort = await masterOf(USERS[0] as string);
    const victims: string[] = [];
    const bystanders: string[] = [];
    for (const user of USERS) ((await masterOf(user)) === victimPort ? victims : bystanders).push(user);
    expect(bystanders.length).toBeGreaterThan(0);

    // Streams of the victim master's users, and the kill once every one of them is under way.
    let started = 0;
    let allStarted!: () => void;
    const streaming = new Promise<void>((resolve) => {
      allStarted = resolve;
    });
    const streams = victims.map((user, i) =>
      streamChat(worker(i), user, `slow ${user}`, () => {
        started += 1;
        if (started === victims.length) allStarted();
      }),
    );
    await Promise.race([streaming, Promise.all(streams)]);
    expect(started).toBe(victims.length);
    const killed = await cluster.killMasterOf(`${PREFIX}{u:${victims[0]}}:session`);
    expect(killed).toBe(victimPort);

    // Everybody keeps chatting while the cluster fails over.
    const duringFailover: Answer[] = [];
    let healthy = false;
    const traffic = (async () => {
      while (!healthy) {
        const round = await Promise.all(
          USERS.map((user, i) =>
            // A dead worker shows as status 0 (and fails the check below), not as a stray rejection.
            call(worker(i + 1).baseUrl, '/chat', { user, body: { message: 'during' } }).catch(
              (error): Answer => ({ status: 0, headers: new Headers(), text: String(error), json: undefined }),
            ),
          ),
        );
        duringFailover.push(...round);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();

    let ended: Awaited<(typeof streams)[number]>[];
    try {
      ended = await Promise.all(streams);
      await cluster.waitHealthy(60_000);
      expect(await masterOf(USERS[0] as string)).not.toBe(victimPort);
    } finally {
      healthy = true;
      await traffic;
    }

    // Each stream began, then ended with exactly one terminal event.
    for (const stream of ended) {
      expect(stream.status, stream.text).toBe(200);
      const terminals = stream.frames.filter((frame) => frame.event === 'final' || frame.event === 'error');
      expect(terminals, stream.text).toHaveLength(1);
      if (terminals[0]?.event === 'error') {
        expect(['BACKEND_UNAVAILABLE', 'LOCK_LOST'], stream.text).toContain(terminals[0].data.code);
      }
    }
    // Every answer during the failover was a success or a typed, retryable error.
    for (const answer of duringFailover) {
      expect([[200], [503, 'BACKEND_UNAVAILABLE'], [409, 'TURN_IN_PROGRESS']], answer.text).toContainEqual(
        answer.status === 200 ? [200] : [answer.status, answer.json?.code],
      );
    }
    // The kill did bite: someone saw the outage as a typed error.
    const streamErrors = ended.filter((stream) => stream.frames.at(-1)?.event === 'error').length;
    const answerErrors = duringFailover.filter((answer) => answer.status === 503).length;
    expect(streamErrors + answerErrors).toBeGreaterThan(0);

    // Once a replica has taken over, every user is served again, long before a 60 s lease ends.
    const lockedOut = new Map<string, Answer>();
    for (const [i, user] of USERS.entries()) {
      const deadline = Date.now() + 15_000;
      let answer: Answer;
      do {
        answer = await call(worker(i).baseUrl, '/chat', { user, body: { message: 'after' } });
        if (answer.status === 200) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      } while (Date.now() < deadline);
      if (answer.status !== 200) lockedOut.set(user, answer);
    }
    expect([...lockedOut].map(([user, answer]) => `${user}: ${answer.status} ${answer.text}`)).toEqual([]);
    for (const each of workers) expect(each.exited, each.name).toBe(false);
  }, 120_000);
});
