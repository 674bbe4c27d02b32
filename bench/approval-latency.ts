/**
 * How long a user's answer takes to reach the waiting turn across processes (CONTRACT §7): two
 * chat worker processes (Express + the handler) share one real Redis; a turn runs on A and waits,
 * the answer is posted to A itself or to B, and the clock stops when the MCP server (in this
 * process, so one clock for both ends) sees the tool start (approval) or receives the user's
 * form (elicitation).
 *
 * Run: npx tsx bench/approval-latency.ts [rounds]   (needs Redis at REDIS_URL or 127.0.0.1:6379)
 */
import { randomUUID } from 'node:crypto';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { startFakeOpenAI } from '../test/fixtures/fake-openai-server.js';
import { startTestMcpHttpServer } from '../test/fixtures/test-mcp-server.js';
import { deletePrefix, REDIS_URL, startWorkers, type Worker } from '../test/multiprocess/worker-process.js';
import { lastMessageOf } from './lib/last-message.js';
import { fmt, summarize } from './lib/stats.js';

const rounds = Number(process.argv[2] ?? 50);
const WARMUP = 3;
const prefix = `llmchat-bench-asks:${randomUUID()}:`;

/** When the MCP server saw each thing happen, by round id. */
const seen = new Map<string, number>();
const mcp = await startTestMcpHttpServer({
  createServer: () => {
    const server = new McpServer({ name: 'bench-asks', version: '1.0.0' });
    server.registerTool(
      'mark',
      { description: 'Marks its start.', inputSchema: { id: z.string() } },
      async ({ id }) => {
        seen.set(id, performance.now());
        return { content: [{ type: 'text', text: 'marked' }] };
      },
    );
    server.registerTool('ask', { description: 'Asks the user.', inputSchema: { id: z.string() } }, async ({ id }) => {
      await server.server.elicitInput({
        message: 'Go on?',
        requestedSchema: { type: 'object', properties: { ok: { type: 'boolean', default: true } } },
      });
      seen.set(id, performance.now());
      return { content: [{ type: 'text', text: 'asked' }] };
    });
    return server;
  },
});
const llm = await startFakeOpenAI({
  reply: (request) => {
    const { isToolResult, words } = lastMessageOf(request);
    if (isToolResult) return { kind: 'text', chunks: ['ok'] };
    const [tool = 'mark', id = ''] = words;
    return { kind: 'tool_calls', calls: [{ name: tool, arguments: { id } }] };
  },
});

const workers: Worker[] = [];
await startWorkers(workers, ['A', 'B'], {
  redisUrl: REDIS_URL,
  keyPrefix: prefix,
  llmUrl: llm.url,
  mcpUrl: mcp.url,
  toolApproval: 'always',
  elicitation: true,
});
const [a, b] = workers as [Worker, Worker];

function post(worker: Worker, path: string, user: string, body: unknown) {
  return fetch(`${worker.baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer user:${user}` },
    body: JSON.stringify(body),
  });
}

/** Reads SSE frames until one of `event`; returns its data. */
async function waitFor(reader: ReadableStreamDefaultReader<Uint8Array>, buffer: { text: string }, event: string) {
  const decoder = new TextDecoder();
  for (;;) {
    const match = new RegExp(`event: ${event}\\n(?:id: [^\\n]*\\n)?data: (.*)\\n`).exec(buffer.text);
    if (match?.[1]) {
      buffer.text = buffer.text.slice((match.index ?? 0) + match[0].length);
      return JSON.parse(match[1]) as { id: string };
    }
    const { value, done } = await reader.read();
    if (done) throw new Error(`stream ended before ${event}: ${buffer.text.slice(0, 500)}`);
    buffer.text += decoder.decode(value, { stream: true });
  }
}

type Kind = 'approval' | 'elicitation';
async function once(kind: Kind, answerer: Worker, round: number): Promise<number> {
  const user = `bench-${kind}-${answerer.name}-${round}`;
  const id = randomUUID();
  await (await post(a, '/connect', user, { llm: { model: 'fake' } })).text();
  const response = await post(a, '/chat', user, {
    message: `${kind === 'approval' ? 'mark' : 'ask'} ${id}`,
    streaming: true,
  });
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const buffer = { text: '' };
  const asked = await waitFor(reader, buffer, 'tool_approval');
  let started = performance.now();
  const approved = await post(answerer, '/approve', user, { call_id: asked.id, decision: 'approve' });
  if (approved.status !== 200) throw new Error(`approve: ${approved.status}`);
  if (kind === 'elicitation') {
    const form = await waitFor(reader, buffer, 'elicitation');
    started = performance.now();
    const answered = await post(answerer, '/elicitation', user, { id: form.id, action: 'accept' });
    if (answered.status !== 200) throw new Error(`elicitation: ${answered.status}`);
  }
  await waitFor(reader, buffer, 'final');
  await reader.cancel();
  const at = seen.get(id);
  if (at === undefined) throw new Error('the tool did not run');
  return at - started;
}

const results: { label: string; samples: number[] }[] = [];
try {
  for (const kind of ['approval', 'elicitation'] as const) {
    for (const answerer of [a, b]) {
      const samples: number[] = [];
      for (let round = 0; round < rounds + WARMUP; round++) {
        const ms = await once(kind, answerer, round);
        if (round >= WARMUP) samples.push(ms);
      }
      results.push({
        label: `${kind}, answer posted to ${answerer === a ? 'A (same process)' : 'B (other process)'}`,
        samples,
      });
    }
  }
  console.log(`answer → tool on A, two worker processes on Redis, ${rounds} rounds each (ms)`);
  console.log('| answer | p50 | p99 | min |');
  console.log('| --- | --- | --- | --- |');
  for (const { label, samples } of results) {
    const summary = summarize(samples);
    console.log(`| ${label} | ${fmt(summary.median)} | ${fmt(summary.p99)} | ${fmt(summary.min)} |`);
  }
} finally {
  await Promise.all(workers.map((worker) => worker.stop()));
  await Promise.all([llm.close(), mcp.close()]);
  const redis = new Redis(REDIS_URL);
  await deletePrefix(redis, prefix);
  await redis.quit();
}
