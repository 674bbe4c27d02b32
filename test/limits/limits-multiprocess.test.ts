import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deletePrefix, REDIS_URL, requireRedis } from '../fixtures/shared-redis.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PREFIX = `llmchat-test:limits:${randomUUID()}:`;
const LIMIT = 25;
const WINDOW_MS = 2000;
const STREAMS = 3;

interface LimitWorker {
  send(command: object): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

function startLimitWorker(user: string): Promise<LimitWorker> {
  const config = { redisUrl: REDIS_URL, keyPrefix: PREFIX, user, limit: LIMIT, windowMs: WINDOW_MS, streams: STREAMS };
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/limits/limit-worker.ts', JSON.stringify(config)],
    { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, NODE_OPTIONS: '' } },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines: Interface = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const waiting: ((line: string) => void)[] = [];
  lines.on('line', (line) => waiting.shift()?.(line));
  const next = () => new Promise<string>((resolve) => waiting.push(resolve));
  const worker: LimitWorker = {
    async send(command) {
      const answer = next();
      child.stdin?.write(`${JSON.stringify(command)}\n`);
      const parsed = JSON.parse(await answer) as Record<string, number> & { error?: string };
      if (parsed.error) throw new Error(parsed.error);
      return parsed;
    },
    async stop() {
      child.stdin?.end();
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
    },
  };
  return next().then(() => worker);
}

const available = await requireRedis('Cross-process limits');

describe.skipIf(!available)('limits across three processes on Redis', () => {
  let workers: LimitWorker[] = [];
  let redis: Redis;

  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    // tsx startup costs about a second per process: start them all at once.
    workers = await Promise.all(['p1', 'p2', 'p3'].map(() => startLimitWorker('carol')));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.stop()));
    await deletePrefix(redis, PREFIX);
    await redis.quit();
  });

  it('admits exactly the request limit per window under concurrent load, and again after the window', async () => {
    const round = async () => {
      const answers = await Promise.all(workers.map((worker) => worker.send({ op: 'requests', n: 20 })));
      return {
        admitted: answers.reduce((sum, answer) => sum + (answer.admitted ?? 0), 0),
        refused: answers.reduce((sum, answer) => sum + (answer.refused ?? 0), 0),
      };
    };
    // 60 requests at once from three processes against a limit of 25 per window. The first round
    // may straddle a window boundary it started in; a round is all within one 2 s window when
    // its total admitted is the limit, which is what must hold (never more).
    const first = await round();
    expect(first.admitted + first.refused).toBe(60);
    expect(first.admitted).toBe(LIMIT);
    // Rate-limiter-flexible's fixed window: a fresh one starts after WINDOW_MS.
    await expect.poll(async () => (await round()).admitted, { timeout: 10_000, interval: WINDOW_MS / 2 }).toBe(LIMIT);
  }, 30_000);

  it('never holds more than the stream cap across processes, and frees slots on release', async () => {
    const takes = await Promise.all(workers.map((worker) => worker.send({ op: 'take', n: 4 })));
    expect(takes.reduce((sum, answer) => sum + (answer.taken ?? 0), 0)).toBe(STREAMS);
    const more = await Promise.all(workers.map((worker) => worker.send({ op: 'take', n: 2 })));
    expect(more.reduce((sum, answer) => sum + (answer.taken ?? 0), 0)).toBe(0);
    const released = await Promise.all(workers.map((worker) => worker.send({ op: 'release' })));
    expect(released.reduce((sum, answer) => sum + (answer.released ?? 0), 0)).toBe(STREAMS);
    await expect
      .poll(
        async () => {
          const again = await Promise.all(workers.map((worker) => worker.send({ op: 'take', n: 2 })));
          await Promise.all(workers.map((worker) => worker.send({ op: 'release' })));
          return again.reduce((sum, answer) => sum + (answer.taken ?? 0), 0);
        },
        { timeout: 5000, interval: 100 },
      )
      .toBe(STREAMS);
  }, 30_000);
});
