/**
 * Latencies of resumable turns over a real Redis (CONTRACT §5), two handlers sharing one storage
 * prefix standing for two processes (each with its own Redis clients and bus subscriber):
 * - resume: from `GET /chat/events` with a `Last-Event-ID` on B to its first replayed event,
 *   while the turn streams on A;
 * - stop: from `POST /stop` on B to the fake LLM seeing A's request closed (in one process; the
 *   figure across real processes is `npm run bench:stop`, bench/stop-latency.ts);
 * - takeover: a turn left behind by a dead process (two events recorded, its lease over), from
 *   `GET /chat/events` on B to the first event B appends after taking it over (claim, log read,
 *   continuation request to the fake LLM, its first token);
 * - memory per retained turn on the memory backend (50 token events of ~20 chars each).
 * Run: `npx tsx bench/turns.ts` (needs Redis at REDIS_URL or 127.0.0.1:6379).
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createChatHandler } from '../src/http/create-chat-handler.js';
import { redisStorage } from '../src/redis/redis-storage.js';
import { RedisTurnBackend } from '../src/redis/redis-turn-backend.js';
import { MemoryTurnBackend } from '../src/turns/memory-turn-backend.js';
import { TurnLog } from '../src/turns/turn-log.js';
import { startFakeOpenAI } from '../test/fixtures/fake-openai-server.js';
import { startTestMcpHttpServer } from '../test/fixtures/test-mcp-server.js';
import { bearerUser, jsonRequest } from '../test/http/stack.js';
import { turnReply } from '../test/turns/turn-helpers.js';

const RUNS = Number(process.env.RUNS ?? 30);
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `bench-turns:${randomUUID()}:`;
const llm = await startFakeOpenAI({ reply: turnReply });
const mcp = await startTestMcpHttpServer();
const clients = [new Redis(url), new Redis(url)];
const storages = clients.map((client) => redisStorage(client, { keyPrefix: prefix }));
const [a, b] = storages.map((storage) =>
  createChatHandler({
    authenticate: bearerUser,
    models: [{ id: 'fake', provider: 'openai_compatible', baseUrl: llm.url, apiKey: 'sk-bench' }],
    mcp: { defaultServer: { url: mcp.url } },
    storage,
    keepAliveMs: 0,
  }),
) as [ReturnType<typeof createChatHandler>, ReturnType<typeof createChatHandler>];

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
};
const report = (name: string, values: number[]) =>
  console.log(
    `${name}: p50 ${percentile(values, 50).toFixed(2)} ms, p99 ${percentile(values, 99).toFixed(2)} ms (n=${values.length})`,
  );

async function firstFrame(
  response: Response,
): Promise<{ id: string; reader: ReadableStreamDefaultReader<Uint8Array> }> {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  let text = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error('stream ended early');
    text += new TextDecoder().decode(value);
    const match = /id: (\S+)\n/.exec(text);
    if (match) return { id: match[1] as string, reader };
  }
}

const resume: number[] = [];
const stop: number[] = [];
for (let i = 0; i < RUNS; i++) {
  const user = `bench-${i}`;
  await a.fetch(jsonRequest('/connect', user, { llm: { model: 'fake' } }));
  const started = await a.fetch(jsonRequest('/chat', user, { message: 'count 400', streaming: true }));
  const first = await firstFrame(started);
  await first.reader.cancel();
  // Let a few events pile up, so the resume replays from the log rather than waits for the next token.
  await new Promise((resolve) => setTimeout(resolve, 150));
  const request = jsonRequest(`/chat/events/${user}`, user);
  request.headers.set('last-event-id', first.id);
  const t0 = performance.now();
  const resumed = await b.fetch(request);
  const next = await firstFrame(resumed);
  resume.push(performance.now() - t0);
  const llmRequest = llm.requests.at(-1);
  const t1 = performance.now();
  let closedAt = 0;
  void llmRequest?.settled.then(() => {
    closedAt = performance.now();
  });
  await b.fetch(jsonRequest('/stop', user, {}));
  await llmRequest?.settled;
  stop.push(closedAt - t1);
  await next.reader.cancel();
}
report('resume on another handler, re-attach to first replayed event', resume);
report('stop from another handler, POST /stop to LLM request closed', stop);

// Takeover: what a killed process leaves behind (events, a latest-turn record not ended, its
// lease over), then a reader on B.
const deadLog = new TurnLog(new RedisTurnBackend(clients[0] as Redis, { keyPrefix: prefix }));
const takeover: number[] = [];
for (let i = 0; i < RUNS; i++) {
  const user = `bench-takeover-${i}`;
  await b.fetch(jsonRequest('/connect', user, { llm: { model: 'fake' } }));
  const ref = { userId: user, turnId: TurnLog.newTurnId() };
  const recorded = [1, 2].map((seq) => ({ seq, event: 'token', data: { content: `c${seq} ` } }));
  await deadLog.append(ref, recorded, 60_000, { epoch: 1 });
  await deadLog.setLatest(
    user,
    undefined,
    { ...ref, owner: 'dead', startedAt: Date.now(), message: 'count 5' },
    60_000,
  );
  const t0 = performance.now();
  const response = await b.fetch(jsonRequest(`/chat/events/${user}`, user));
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  let text = '';
  while (!text.includes(`id: ${ref.turnId}:3\n`)) {
    const { value, done } = await reader.read();
    if (done) throw new Error('takeover stream ended early');
    text += new TextDecoder().decode(value);
  }
  takeover.push(performance.now() - t0);
  await reader.cancel();
}
report('takeover on another handler, GET /chat/events to first continued event', takeover);

// Memory per retained turn (memory backend).
const turns = new MemoryTurnBackend({ maxEntries: 100_000 });
const log = new TurnLog(turns);
globalThis.gc?.();
const before = process.memoryUsage().heapUsed;
const TURNS = 2000;
for (let t = 0; t < TURNS; t++) {
  const ref = { userId: `u${t}`, turnId: TurnLog.newTurnId() };
  const events = Array.from({ length: 50 }, (_, i) => ({
    seq: i + 1,
    event: 'token',
    data: { content: `word number ${i} ` },
  }));
  await log.append(ref, events, 600_000);
}
globalThis.gc?.();
const perTurn = (process.memoryUsage().heapUsed - before) / TURNS;
console.log(`memory per retained turn (50 token events): ${(perTurn / 1024).toFixed(1)} KiB`);
await turns.close();

await Promise.all([a.close(), b.close()]);
await Promise.all(storages.map((storage) => storage.close()));
const admin = clients[0] as Redis;
const keys = await admin.keys(`${prefix}*`);
if (keys.length > 0) await admin.del(...keys);
await Promise.all(clients.map((client) => client.quit()));
await Promise.all([llm.close(), mcp.close()]);
