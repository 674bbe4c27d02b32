/**
 * Helpers of the multi-process suites: spawning chat workers (`test/fixtures/chat-worker.ts`),
 * calling them over HTTP, and Redis housekeeping (probe, SCAN+DEL of a test prefix).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ChatWorkerConfig } from '../fixtures/chat-worker.js';

export type { ChatWorkerConfig } from '../fixtures/chat-worker.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The shared Redis of the test run. */
export { deletePrefix, REDIS_URL, redisAnswers, requireRedis } from '../fixtures/shared-redis.js';

/** A running worker process. */
export interface Worker {
  readonly name: string;
  readonly pid: number;
  /** `http://127.0.0.1:PORT/llmchat` */
  readonly baseUrl: string;
  readonly origin: string;
  readonly process: ChildProcess;
  /** Every stderr line (its logger's JSON lines, and anything else). */
  readonly stderr: string[];
  /** Whether it has exited. */
  readonly exited: boolean;
  /** Sends SIGKILL and waits for the exit. */
  kill(): Promise<void>;
  /** SIGTERM, then SIGKILL after a grace period. Idempotent. */
  stop(): Promise<void>;
}

/** Spawns a worker and resolves once it listens. */
export function startWorker(name: string, config: ChatWorkerConfig, timeoutMs = 20_000): Promise<Worker> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/chat-worker.ts', JSON.stringify(config)], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  const stderr: string[] = [];
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  let errBuffer = '';
  child.stderr?.on('data', (data: Buffer) => {
    errBuffer += data.toString();
    const lines = errBuffer.split('\n');
    errBuffer = lines.pop() ?? '';
    stderr.push(...lines);
  });
  const kill = async () => {
    if (!exited) child.kill('SIGKILL');
    await exit;
  };
  return new Promise<Worker>((resolve, reject) => {
    const timer = setTimeout(() => {
      void kill();
      reject(new Error(`worker ${name} did not start in ${timeoutMs} ms: ${stderr.join('\n')}`));
    }, timeoutMs);
    let outBuffer = '';
    child.stdout?.on('data', (data: Buffer) => {
      outBuffer += data.toString();
      const line = outBuffer.split('\n')[0];
      if (line === undefined || !outBuffer.includes('\n')) return;
      clearTimeout(timer);
      const { port } = JSON.parse(line) as { port: number };
      const origin = `http://127.0.0.1:${port}`;
      resolve({
        name,
        pid: child.pid as number,
        origin,
        baseUrl: `${origin}/llmchat`,
        process: child,
        stderr,
        get exited() {
          return exited;
        },
        kill,
        async stop() {
          if (exited) return;
          child.kill('SIGTERM');
          const grace = setTimeout(() => child.kill('SIGKILL'), 3000);
          await exit;
          clearTimeout(grace);
        },
      });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker ${name} exited (${code}) before listening: ${stderr.join('\n')}`));
    });
  });
}

/** An HTTP answer, its body read. */
export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests dig into bodies freely.
  json: any;
}

/** Calls `baseUrl + path` as `user` (Bearer user:<id>); a body makes it a POST. */
export async function call(
  baseUrl: string,
  path: string,
  init: { user?: string; body?: unknown; signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (init.user) headers.authorization = `Bearer user:${init.user}`;
  const response = await fetch(`${baseUrl}${path}`, {
    method: init.body === undefined ? 'GET' : 'POST',
    headers,
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    signal: init.signal ?? AbortSignal.timeout(init.timeoutMs ?? 15_000),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** Reads an SSE text into `{ event, data }` frames (see test/fixtures/sse-reader.ts). */
export { parseSseText as parseSse } from '../fixtures/sse-reader.js';

/**
 * The event names of a stream with each run of `token` events counted once: tokens that reach
 * the server in one network chunk travel as one frame, so their number is not fixed.
 */
export function eventNames(frames: ReadonlyArray<{ event: string }>): string[] {
  const names: string[] = [];
  for (const { event } of frames) if (!(event === 'token' && names.at(-1) === 'token')) names.push(event);
  return names;
}

/**
 * Starts several workers (tsx costs about a second each) and adds every one that came up to
 * `into`, so the caller's cleanup stops them even when another failed; then throws the first
 * failure, if any. The first starts alone and fills tsx's transform cache; the others then start
 * together from it. Nine cold starts at once, next to another test file on a loaded 2-core CI
 * machine, once took more than 20 s for one of them. Each gets `timeoutMs` (the callers' hooks
 * allow 90 s).
 */
export async function startWorkers(
  into: Worker[],
  names: readonly string[],
  config: ChatWorkerConfig,
  timeoutMs = 40_000,
): Promise<void> {
  const [first, ...rest] = names;
  const start = async (group: readonly string[]) => {
    const started = await Promise.allSettled(group.map((name) => startWorker(name, config, timeoutMs)));
    for (const result of started) if (result.status === 'fulfilled') into.push(result.value);
    const failed = started.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
  };
  if (first !== undefined) await start([first]);
  await start(rest);
}

/**
 * A JSON request to a worker as `user` (Bearer `user:<id>`): a POST when there is a body, else
 * a GET. Gives up after `timeoutMs`, so a hung worker fails the test instead of stalling it.
 */
export function workerRequest(
  worker: Worker,
  path: string,
  user: string,
  body?: unknown,
  timeoutMs = 20_000,
): Promise<Response> {
  return fetch(`${worker.baseUrl}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer user:${user}` },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(timeoutMs),
  });
}
