import { afterEach, describe, expect, it } from 'vitest';
import type { ChatHandlerOptions } from '../../src/http/chat-handler-options.js';
import type { RecordedRequest } from '../fixtures/fake-llm-common.js';
import { type HostileBehaviour, type HostileMcpServer, startHostileMcpServer } from '../fixtures/hostile-mcp-server.js';
import { jsonRequest, readFrames, type Stack, smartReply, startStack } from '../http/stack.js';

// Issue 10, through the handler: a turn whose tool calls hit an MCP fault still ends with exactly
// one terminal event (class 6), and a turn with 16 parallel tool calls makes Node print no
// warning on the host's stderr (class 11).

const TERMINAL = new Set(['final', 'error']);
const stacks: Stack[] = [];
const servers: HostileMcpServer[] = [];

afterEach(async () => {
  await Promise.all(stacks.splice(0).map((stack) => stack.close()));
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/** The fake LLM: `parallel N <tool>` calls `tool` N times in one round; results get an answer. */
function reply(request: RecordedRequest) {
  const messages = (request.body?.messages ?? []) as Array<{ role: string; content: unknown }>;
  const last = messages.at(-1);
  const parallel = /^parallel (\d+) (\w+)$/.exec(typeof last?.content === 'string' ? last.content : '');
  if (last?.role === 'user' && parallel) {
    const tool = parallel[2] as string;
    return {
      kind: 'tool_calls' as const,
      calls: Array.from({ length: Number(parallel[1]) }, (_, index) => ({
        name: tool,
        arguments: tool === 'add' ? { a: index, b: 1 } : {},
      })),
    };
  }
  return smartReply(request);
}

async function stackWith(overrides: Partial<ChatHandlerOptions> = {}) {
  const stack = await startStack(overrides);
  stacks.push(stack);
  stack.llm.reply(reply);
  return stack;
}

async function streamedTurn(stack: Stack, user: string, message: string) {
  const connected = await stack.handler.fetch(jsonRequest('/connect', user, { llm: { model: 'fake' } }));
  expect(connected.status, await connected.clone().text()).toBe(200);
  const response = await stack.handler.fetch(jsonRequest('/chat', user, { message, streaming: true }));
  expect(response.status).toBe(200);
  return readFrames(response);
}

describe('a turn whose tool calls meet a hostile MCP server', () => {
  const cases: Array<{ behaviour: HostileBehaviour; mcp: Partial<NonNullable<ChatHandlerOptions['mcp']>> }> = [
    { behaviour: 'json-endless', mcp: { maxMessageBytes: 64 * 1024 } },
    { behaviour: 'sse-endless', mcp: { maxMessageBytes: 64 * 1024 } },
    { behaviour: 'json-stall', mcp: { toolTimeoutMs: 300 } },
    { behaviour: 'sse-no-answer', mcp: {} },
    { behaviour: 'json-no-answer', mcp: {} },
    { behaviour: 'sse-reset', mcp: {} },
  ];
  for (const { behaviour, mcp } of cases) {
    it(`${behaviour}: every call reports tool_error and the stream ends with exactly one terminal event`, async () => {
      const server = await startHostileMcpServer({ behaviour, maxEndlessBytes: 16 * 1024 * 1024 });
      servers.push(server);
      const stack = await stackWith({
        mcp: { defaultServer: { url: server.url }, allowedUrls: [server.url], toolTimeoutMs: 60_000, ...mcp },
      });
      const frames = await streamedTurn(stack, 'fay', 'parallel 3 hostile');
      const events = frames.map((frame) => frame.event);
      expect(events.filter((event) => event === 'tool_error')).toHaveLength(3);
      expect(events.filter((event) => TERMINAL.has(event))).toHaveLength(1);
      expect(events.at(-1)).toBe('final');
      // Every exchange the server saw was torn down.
      await Promise.all(server.exchanges.map((exchange) => exchange.closed));
    }, 15_000);
  }
});

describe('a client that stops a turn while its tool call stalls', () => {
  for (const behaviour of ['json-stall', 'sse-stall'] as const) {
    it(`${behaviour}: the MCP socket is released`, async () => {
      const server = await startHostileMcpServer({ behaviour });
      servers.push(server);
      const stack = await stackWith({
        mcp: { defaultServer: { url: server.url }, allowedUrls: [server.url], toolTimeoutMs: 60_000 },
      });
      const connected = await stack.handler.fetch(jsonRequest('/connect', 'hal', { llm: { model: 'fake' } }));
      expect(connected.status).toBe(200);
      const started = server.nextCall();
      const response = await stack.handler.fetch(
        jsonRequest('/chat', 'hal', { message: 'parallel 1 hostile', streaming: true }),
      );
      // The turn runs as its stream is read.
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      void reader.read().catch(() => undefined);
      const exchange = await started;
      // Going away stops the turn (0.1 rule), which aborts its tool calls.
      await reader.cancel();
      await exchange.closed;
      expect(exchange.isClosed).toBe(true);
    }, 10_000);
  }
});

describe('sixteen parallel tool calls in one turn', () => {
  it('make Node print no warning (no MaxListenersExceededWarning)', async () => {
    const stack = await stackWith();
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
    process.on('warning', onWarning);
    try {
      const frames = await streamedTurn(stack, 'gus', 'parallel 16 add');
      const events = frames.map((frame) => frame.event);
      expect(events.filter((event) => event === 'tool_end')).toHaveLength(16);
      expect(events.filter((event) => TERMINAL.has(event))).toEqual(['final']);
      // Warnings are emitted on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).toEqual([]);
  });
});
