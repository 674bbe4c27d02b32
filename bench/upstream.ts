/**
 * The upstream side of every bench, in its own process so it never shares a CPU budget line
 * with the server under test: the fake OpenAI-compatible provider of the test fixtures (real
 * Chat Completions stream format) and a real MCP server over Streamable HTTP.
 *
 * The fake answers by the last message:
 * - a tool result → `The result is <result>.`
 * - `add A and B` → a call of the MCP `add` tool;
 * - `relay N` → N one-token chunks, no delay (throughput);
 * - `slow N D` → N chunks D ms apart (concurrency);
 * - anything else → `Hello from the fake.` in three chunks.
 */
import type { FakeReply, RecordedRequest } from '../test/fixtures/fake-llm-common.js';
import { startFakeOpenAI } from '../test/fixtures/fake-openai-server.js';
import { startTestMcpHttpServer } from '../test/fixtures/test-mcp-server.js';
import { startBurstServer } from './lib/burst-server.js';
import { serveIpc } from './lib/ipc.js';

const relayCache = new Map<number, string[]>();

function benchReply(request: RecordedRequest): FakeReply {
  const messages = (request.body?.messages ?? []) as Array<{ role: string; content: unknown }>;
  const last = messages.at(-1);
  if (last?.role === 'tool') return { kind: 'text', chunks: ['The result', ` is ${String(last.content)}.`] };
  const text = typeof last?.content === 'string' ? last.content : '';
  const add = /add (\d+) and (\d+)/i.exec(text);
  if (add) return { kind: 'tool_calls', calls: [{ name: 'add', arguments: { a: Number(add[1]), b: Number(add[2]) } }] };
  const relay = /relay (\d+)/i.exec(text);
  if (relay) {
    const count = Number(relay[1]);
    let chunks = relayCache.get(count);
    if (!chunks) {
      chunks = Array.from({ length: count }, (_, i) => `t${i % 10} `);
      relayCache.set(count, chunks);
    }
    return { kind: 'text', chunks };
  }
  const slow = /slow (\d+) (\d+)/i.exec(text);
  if (slow) {
    return {
      kind: 'text',
      chunks: Array.from({ length: Number(slow[1]) }, (_, i) => `w${i} `),
      delayMs: Number(slow[2]),
    };
  }
  return { kind: 'text', chunks: ['Hello', ' from', ' the fake.'] };
}

const llm = await startFakeOpenAI({ reply: benchReply });
const mcp = await startTestMcpHttpServer();
const burst = await startBurstServer(llm.url);
// The fake records every request; the bench sends hundreds of thousands.
const trim = setInterval(() => {
  llm.requests.length = 0;
}, 1000);
trim.unref();

serveIpc(
  {
    info: () => ({ llmUrl: llm.url, burstUrl: burst.url, mcpUrl: mcp.url, pid: process.pid }),
    mcpSessions: () => mcp.sessionCount,
    cpu: () => process.cpuUsage(),
  },
  async () => {
    await Promise.all([burst.close(), llm.close(), mcp.close()]);
  },
);
