import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, type ExpectStatic, it } from 'vitest';
import { REDIS_URL, requireRedis } from '../fixtures/shared-redis.js';
import { parseSseText as parseSse } from '../fixtures/sse-reader.js';

// Each example runs as users run it: its own process, TypeScript through tsx, the scripted model,
// the demo MCP server, real HTTP. Examples start in parallel (about a second each) to keep this short.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const REDIS_PREFIX = `llmchat-examples-test:${randomUUID()}:`;
// Generous: a busy 2-core CI box can take 10+ s to load TypeScript in seven processes at once.
const START_TIMEOUT_MS = 30_000;
const EXIT_TIMEOUT_MS = 5_000;
const REQUEST_TIMEOUT_MS = 10_000;
const SINGLE_PROCESS = ['express', 'fastify', 'koa', 'fetch'] as const;
// What the demo's rules turn into a `calculate` call (demo/scripted-reply.ts).
const CALCULATOR_MESSAGE = 'what is 12 * 7?';

interface RunningExample {
  child: ChildProcess;
  baseUrl: string;
  output: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const redisAvailable = await requireRedis('examples/multi-process test');

const children: ChildProcess[] = [];

function startExample(name: string, extraEnv: Record<string, string> = {}): Promise<RunningExample> {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', ...extraEnv };
  // No real model and no outside MCP server: the example must bring up the scripted stand-ins.
  for (const key of ['OPENAI_API_KEY', 'OPENAI_BASE_URL', 'ANTHROPIC_API_KEY', 'MCP_URL', 'SCRIPTED_MODEL_URL']) {
    delete env[key];
  }
  const child = spawn(process.execPath, ['--import', 'tsx', `examples/${name}/server.ts`], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`${name} did not print "listening on" within ${START_TIMEOUT_MS} ms:\n${output}`));
    }, START_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
      if (url) {
        clearTimeout(timer);
        resolve({ child, baseUrl: url, output: () => output, exit });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    exit.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited before listening (${signal ?? code}):\n${output}`));
    });
  });
}

interface HttpResult {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request on its own connection (no keep-alive), so the cluster's round robin spreads them. */
function send(
  baseUrl: string,
  method: string,
  path: string,
  userId: string | null,
  body?: unknown,
): Promise<HttpResult> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${baseUrl}${path}`,
      {
        method,
        agent: false,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        headers: {
          ...(userId ? { 'x-user-id': userId } : {}),
          ...(payload ? { 'content-type': 'application/json' } : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

async function connect(expect: ExpectStatic, baseUrl: string, userId: string): Promise<HttpResult> {
  const connected = await send(baseUrl, 'POST', '/llmchat/connect', userId, { llm: { model: 'demo-scripted' } });
  expect(connected.status, connected.body).toBe(200);
  expect(JSON.parse(connected.body)).toMatchObject({ status: 'connected', user_id: userId });
  expect(JSON.parse(connected.body).tools).toContain('calculate');
  return connected;
}

/** A streaming turn that must call the calculator and answer with its result. */
async function chatWithCalculator(expect: ExpectStatic, baseUrl: string, userId: string): Promise<HttpResult> {
  const chat = await send(baseUrl, 'POST', '/llmchat/chat', userId, { message: CALCULATOR_MESSAGE, streaming: true });
  expect(chat.status, chat.body).toBe(200);
  expect(chat.headers['content-type']).toMatch(/^text\/event-stream/);
  const events = parseSse(chat.body);
  const kinds = events.map((e) => e.event).filter((kind) => kind !== 'token');
  expect(kinds).toEqual(['tool_start', 'tool_end', 'final']);
  expect(events.find((e) => e.event === 'tool_start')?.data).toMatchObject({
    tool: 'calculate',
    input: { expression: '12 * 7' },
  });
  expect(events.find((e) => e.event === 'tool_end')?.data.output).toBe('12 * 7 = 84');
  const final = events.at(-1);
  expect(final?.event).toBe('final');
  expect(final?.data).toMatchObject({ tool_used: true, tools: ['calculate'] });
  expect(final?.data.content).toContain('**84**');
  return chat;
}

async function stopAndExpectCleanExit(expect: ExpectStatic, running: RunningExample): Promise<void> {
  running.child.kill('SIGTERM');
  const timeout = new Promise<'timeout'>((resolve) => setTimeout(resolve, EXIT_TIMEOUT_MS, 'timeout').unref());
  const result = await Promise.race([running.exit, timeout]);
  expect(result, running.output()).toEqual({ code: 0, signal: null });
}

const started = new Map<string, Promise<RunningExample>>();

beforeAll(() => {
  for (const name of SINGLE_PROCESS) started.set(name, startExample(name));
  if (redisAvailable) {
    started.set(
      'multi-process',
      startExample('multi-process', { REDIS_URL, REDIS_KEY_PREFIX: REDIS_PREFIX, WORKERS: '2' }),
    );
  }
  // Each test awaits its own example; this only keeps a failed start from being reported as unhandled.
  for (const promise of started.values()) promise.catch(() => {});
});

afterAll(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  if (!redisAvailable) return;
  const admin = new Redis(REDIS_URL);
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', `${REDIS_PREFIX}*`, 'COUNT', 500);
    if (keys.length > 0) await admin.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  await admin.quit();
});

describe.concurrent('examples', () => {
  for (const name of SINGLE_PROCESS) {
    it(`${name}: lists models, connects, streams a tool-using chat, disconnects, stops on SIGTERM`, async ({
      expect,
    }) => {
      const running = await started.get(name)!;
      const { baseUrl } = running;
      const userId = `user-${name}-${randomUUID()}`;

      expect((await send(baseUrl, 'GET', '/llmchat/gateway/models', null)).status).toBe(401);
      const models = await send(baseUrl, 'GET', '/llmchat/gateway/models', userId);
      expect(models.status, models.body).toBe(200);
      expect(JSON.parse(models.body).models.map((m: { id: string }) => m.id)).toEqual(['demo-scripted']);

      await connect(expect, baseUrl, userId);
      await chatWithCalculator(expect, baseUrl, userId);

      const disconnected = await send(baseUrl, 'POST', '/llmchat/disconnect', userId, {});
      expect(JSON.parse(disconnected.body)).toMatchObject({ status: 'disconnected', user_id: userId });
      const status = await send(baseUrl, 'GET', `/llmchat/status/${encodeURIComponent(userId)}`, userId);
      expect(JSON.parse(status.body)).toEqual({ user_id: userId, connected: false });

      await stopAndExpectCleanExit(expect, running);
    }, 45_000);
  }

  it.skipIf(!redisAvailable)(
    'multi-process: any worker serves any user through Redis, and the cluster stops on SIGTERM',
    async ({ expect }) => {
      const running = await started.get('multi-process')!;
      const { baseUrl } = running;
      const userId = `user-multi-${randomUUID()}`;
      const workerOf = (result: HttpResult) => String(result.headers['x-worker']);

      const probes = await Promise.all(
        Array.from({ length: 6 }, () => send(baseUrl, 'GET', '/llmchat/gateway/models', userId)),
      );
      const probeWorkers = new Set(probes.map(workerOf));
      expect(probeWorkers.size, `x-worker values: ${[...probeWorkers]}`).toBeGreaterThan(1);
      for (const pid of probeWorkers) expect(pid).toMatch(/^\d+$/);

      const connectWorker = workerOf(await connect(expect, baseUrl, userId));
      // Round robin hands the next connection to another worker; retry in case something interleaved.
      let chatWorker = connectWorker;
      for (let attempt = 0; attempt < 6 && chatWorker === connectWorker; attempt += 1) {
        chatWorker = workerOf(await chatWithCalculator(expect, baseUrl, userId));
      }
      expect(chatWorker).not.toBe(connectWorker);

      // Every worker sees the session, and then sees it gone after a disconnect served by any one of them.
      const statusEverywhere = async (connected: boolean) => {
        const path = `/llmchat/status/${encodeURIComponent(userId)}`;
        const statuses = await Promise.all(Array.from({ length: 4 }, () => send(baseUrl, 'GET', path, userId)));
        expect(new Set(statuses.map(workerOf)).size).toBeGreaterThan(1);
        for (const status of statuses) expect(JSON.parse(status.body)).toEqual({ user_id: userId, connected });
      };
      await statusEverywhere(true);
      await send(baseUrl, 'POST', '/llmchat/disconnect', userId, {});
      await statusEverywhere(false);

      await stopAndExpectCleanExit(expect, running);
    },
    45_000,
  );
});
