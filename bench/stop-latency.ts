/**
 * Stop latency across real processes (issue 11, target p99 ≤ 50 ms): two chat worker processes
 * (Express + the handler) share one real Redis; a turn runs on A, the bench posts `POST /stop` to
 * B, and the clock stops when the fake LLM or MCP server (in this process, so one clock for both
 * ends) sees A let go:
 * - mid-stream: the LLM streams a token every 25 ms and A's reader has seen tokens; the clock
 *   stops when the fake LLM sees A's request closed;
 * - slow tool: A waits on an MCP tool that would take 30 s; the clock stops when the MCP server
 *   sees the call cancelled (`notifications/cancelled` aborts the tool's signal);
 * - before the first byte: the fake LLM has A's request but sends nothing; the clock stops when
 *   it sees the request closed.
 * Each case runs `rounds` times after a few warm-up rounds, a new user each round.
 *
 * Run: npm run bench:stop [-- rounds]   (needs Redis at REDIS_URL or 127.0.0.1:6379)
 */
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { Redis } from 'ioredis';
import { z } from 'zod';
import type { RecordedRequest } from '../test/fixtures/fake-llm-common.js';
import { startFakeOpenAI } from '../test/fixtures/fake-openai-server.js';
import { startTestMcpHttpServer } from '../test/fixtures/test-mcp-server.js';
import { deletePrefix, REDIS_URL, startWorkers, type Worker } from '../test/multiprocess/worker-process.js';
import { countWords } from '../test/turns/turn-helpers.js';
import { lastMessageOf } from './lib/last-message.js';
import { fmt, summarize } from './lib/stats.js';

const rounds = Number(process.argv[2] ?? 50);
const WARMUP = 5;
const TARGET_P99_MS = 50;
const prefix = `llmchat-bench-stop:${randomUUID()}:`;

/** A promise per round id, resolved with a value by whoever sees the thing happen. */
function waiters<T>() {
  const map = new Map<string, { promise: Promise<T>; resolve: (value: T) => void }>();
  const get = (id: string) => {
    let entry = map.get(id);
    if (!entry) {
      let resolve!: (value: T) => void;
      const promise = new Promise<T>((r) => {
        resolve = r;
      });
      entry = { promise, resolve };
      map.set(id, entry);
    }
    return entry;
  };
  return {
    wait: (id: string) => get(id).promise,
    resolve: (id: string, value: T) => get(id).resolve(value),
  };
}

/** The LLM request of each round, once the fake has it. */
const llmRequests = waiters<RecordedRequest>();
/** When the slow tool of each round started, and when the MCP server saw it cancelled. */
const toolStarted = waiters<number>();
const toolCancelled = waiters<number>();

const mcp = await startTestMcpHttpServer({
  createServer: () => {
    const server = new McpServer({ name: 'bench-stop', version: '1.0.0' });
    server.registerTool(
      'slow',
      { description: 'Waits 30 s unless cancelled.', inputSchema: { id: z.string() } },
      async ({ id }, extra) => {
        toolStarted.resolve(id, performance.now());
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 30_000);
          extra.signal.addEventListener(
            'abort',
            () => {
              const at = performance.now();
              // notifications/cancelled aborts with its `reason` (a string); a closed session
              // aborts with an AbortError instead, which is not what this case measures.
              toolCancelled.resolve(id, typeof extra.signal.reason === 'string' ? at : -1);
              clearTimeout(timer);
              resolve();
            },
            { once: true },
          );
        });
        return { content: [{ type: 'text', text: 'slept' }] };
      },
    );
    return server;
  },
});

// The script, by the last message "<case> <id>": "stream" sends 400 tokens, one every 25 ms
// (10 s in all); "tool" calls `slow`; "stall" never sends a byte.
const llm = await startFakeOpenAI({
  reply: (request) => {
    const { isToolResult, words } = lastMessageOf(request);
    if (isToolResult) return { kind: 'text', chunks: ['ok'] };
    const [kind = '', id = ''] = words;
    llmRequests.resolve(id, request);
    if (kind === 'tool') return { kind: 'tool_calls', calls: [{ name: 'slow', arguments: { id } }] };
    if (kind === 'stall') return { kind: 'stall', phase: 'before_headers' };
    return { kind: 'text', chunks: countWords(400), delayMs: 25 };
  },
});

const workers: Worker[] = [];
await startWorkers(workers, ['A', 'B'], {
  redisUrl: REDIS_URL,
  keyPrefix: prefix,
  llmUrl: llm.url,
  mcpUrl: mcp.url,
});
const [a, b] = workers as [Worker, Worker];

function post(worker: Worker, path: string, user: string, body: unknown) {
  return fetch(`${worker.baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer user:${user}` },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(20_000),
  });
}

/** Reads SSE text until `count` frames of `event` have arrived (or until the stream ends). */
async function readUntil(reader: ReadableStreamDefaultReader<Uint8Array>, event: string, count = 1): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  for (;;) {
    if (text.split(`event: ${event}\n`).length - 1 >= count) return text;
    const { value, done } = await reader.read();
    if (done) return text;
    text += decoder.decode(value, { stream: true });
  }
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: nothing in ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

type Case = 'stream' | 'tool' | 'stall';
/** One round: starts the turn on A, waits for its state, stops it from B; returns the ms. */
async function once(kind: Case, round: number): Promise<number> {
  const user = `bench-stop-${kind}-${round}-${randomUUID().slice(0, 8)}`;
  const id = randomUUID();
  const connected = await post(a, '/connect', user, { llm: { model: 'fake' } });
  if (connected.status !== 200) throw new Error(`connect: ${connected.status} ${await connected.text()}`);
  const response = await post(a, '/chat', user, { message: `${kind} ${id}`, streaming: true });
  if (response.status !== 200) throw new Error(`chat: ${response.status} ${await response.text()}`);
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const request = await within(llmRequests.wait(id), 10_000, 'LLM request');
  if (kind === 'stream') await within(readUntil(reader, 'token', 3), 10_000, 'tokens');
  if (kind === 'tool') await within(toolStarted.wait(id), 10_000, 'tool start');

  // What stops the clock, subscribed before the clock starts.
  const closed =
    kind === 'tool' ? toolCancelled.wait(id) : request.settled.then(() => (request.aborted ? performance.now() : -1));
  const started = performance.now();
  const stopped = await post(b, '/stop', user, {});
  const answer = (await stopped.json()) as { status?: string };
  if (answer.status !== 'stopped') throw new Error(`stop: ${stopped.status} ${JSON.stringify(answer)}`);
  const at = await within(closed, 10_000, kind === 'tool' ? 'tool cancellation' : 'LLM request closed');
  if (at < 0)
    throw new Error(
      kind === 'tool'
        ? 'the tool ended without notifications/cancelled'
        : 'the LLM request finished instead of being closed',
    );
  // Let the turn end (final stopped) before the next round.
  const rest = await within(readUntil(reader, 'final'), 10_000, 'final');
  if (!rest.includes('event: final')) throw new Error('no final event after stop');
  await reader.cancel();
  return at - started;
}

const cases: { kind: Case; label: string; clock: string }[] = [
  { kind: 'stream', label: 'mid-stream', clock: 'LLM request closed' },
  { kind: 'tool', label: 'waiting on a slow MCP tool', clock: 'notifications/cancelled at the MCP server' },
  { kind: 'stall', label: 'before the LLM’s first byte', clock: 'LLM request closed' },
];
const load = [loadavg()];
const results: { label: string; clock: string; samples: number[] }[] = [];
try {
  for (const { kind, label, clock } of cases) {
    const samples: number[] = [];
    for (let round = 0; round < rounds + WARMUP; round++) {
      const ms = await once(kind, round);
      if (round >= WARMUP) samples.push(ms);
    }
    results.push({ label, clock, samples });
  }
  load.push(loadavg());
  console.log(
    `POST /stop on B → A lets go, two worker processes (Express) on one Redis, ${rounds} rounds per case after ${WARMUP} warm-up (ms)`,
  );
  console.log(`| turn on A | clock stops at | n | p50 | p99 | max | target p99 ≤ ${TARGET_P99_MS} ms |`);
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const { label, clock, samples } of results) {
    const summary = summarize(samples);
    const max = Math.max(...samples);
    const verdict = summary.p99 <= TARGET_P99_MS ? 'PASS' : 'MISS';
    console.log(
      `| ${label} | ${clock} | ${summary.n} | ${fmt(summary.median)} | ${fmt(summary.p99)} | ${fmt(max)} | ${verdict} |`,
    );
  }
  if (rounds <= 100) console.log(`p99 is by nearest rank: with n ≤ 100 it is the max (the worst round).`);
  const show = (avg: number[]) => avg.map((value) => value.toFixed(2)).join(' / ');
  console.log(`load average (1 / 5 / 15 min): before ${show(load[0] ?? [])}, after ${show(load[1] ?? [])}`);
} finally {
  await Promise.all(workers.map((worker) => worker.stop()));
  await Promise.all([llm.close(), mcp.close()]);
  const redis = new Redis(REDIS_URL);
  await deletePrefix(redis, prefix);
  await redis.quit();
}
