import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { LlmChatError } from '../../src/errors.js';
import { McpToolbox, type McpToolboxOptions } from '../../src/mcp/index.js';
import type { McpServerConfig } from '../../src/types.js';
import { freePort } from '../fixtures/free-port.js';
import {
  startTestMcpHttpServer,
  startTestMcpSseServer,
  type TestMcpHttpServer,
  type TestMcpSseServer,
} from '../fixtures/test-mcp-server.js';

const TOKEN = 'test-secret-token';
let server: TestMcpHttpServer;
const toolboxes: McpToolbox[] = [];

async function connect(config: Partial<McpServerConfig> = {}, options: McpToolboxOptions = {}) {
  const toolbox = await McpToolbox.connect([{ url: server.url, authToken: TOKEN, ...config }], options);
  toolboxes.push(toolbox);
  return toolbox;
}

async function rejection(promise: Promise<unknown>): Promise<LlmChatError> {
  try {
    await promise;
  } catch (error) {
    return error as LlmChatError;
  }
  throw new Error('expected a rejection');
}

beforeAll(async () => {
  server = await startTestMcpHttpServer({ authToken: TOKEN });
});

afterEach(async () => {
  await Promise.all(toolboxes.splice(0).map((toolbox) => toolbox.close()));
  await server.start();
});

afterAll(async () => {
  await server.close();
});

describe('McpToolbox over Streamable HTTP', () => {
  it('connects with the bearer token, lists and calls tools', async () => {
    const toolbox = await connect();
    expect(toolbox.listTools().map((tool) => tool.name)).toContain('add');
    expect((await toolbox.callTool('add', { a: 2, b: 3 })).text).toBe('5');
    expect((await toolbox.callTool('structured', {})).output).toEqual({
      city: 'Paris',
      temperature: 21,
      conditions: 'sunny',
    });
    expect(server.sessionCount).toBeGreaterThanOrEqual(1);
  });

  it('sends custom headers, and a token in headers works as well', async () => {
    const seen: Headers[] = [];
    const recordingFetch = (input: string | URL, init?: RequestInit) => {
      seen.push(new Headers(init?.headers));
      return fetch(input, init);
    };
    const toolbox = await connect(
      { authToken: undefined, headers: { authorization: `Bearer ${TOKEN}`, 'x-tenant': 'blue' } },
      { fetch: recordingFetch },
    );
    expect((await toolbox.callTool('echo', { message: 'hey' })).text).toBe('hey');
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((headers) => headers.get('x-tenant') === 'blue')).toBe(true);
    expect(seen.every((headers) => headers.get('authorization') === `Bearer ${TOKEN}`)).toBe(true);
  });

  it('is MCP_UNAVAILABLE without the token, without leaking the token or URL credentials', async () => {
    const withoutToken = await rejection(connect({ authToken: undefined }));
    expect(withoutToken.code).toBe('MCP_UNAVAILABLE');
    const wrong = await rejection(
      connect({ authToken: 'wrong-token', url: server.url.replace('http://', 'http://alice:hunter2@') }),
    );
    expect(wrong.code).toBe('MCP_UNAVAILABLE');
    expect(wrong.message).not.toMatch(/wrong-token|hunter2|127\.0\.0\.1/);
  });

  it('fails fast with MCP_UNAVAILABLE for an unreachable URL', async () => {
    const port = await freePort();
    const started = performance.now();
    const error = await rejection(McpToolbox.connect([{ url: `http://127.0.0.1:${port}/mcp` }]));
    expect(error.code).toBe('MCP_UNAVAILABLE');
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('refuses a malformed URL with BAD_REQUEST', async () => {
    expect((await rejection(McpToolbox.connect([{ url: 'not a url' }]))).code).toBe('BAD_REQUEST');
    expect((await rejection(McpToolbox.connect([{ url: 'ftp://127.0.0.1/mcp' }]))).code).toBe('BAD_REQUEST');
  });

  it('aborts a call within 100 ms and the server receives notifications/cancelled', async () => {
    const toolbox = await connect();
    const before = { started: server.stats.slowStarted, cancelled: server.stats.slowCancelled };
    const controller = new AbortController();
    const call = toolbox.callTool('slow', { ms: 10_000 }, { signal: controller.signal });
    await vi.waitFor(() => expect(server.stats.slowStarted).toBe(before.started + 1));
    const abortedAt = performance.now();
    controller.abort();
    const error = await rejection(call);
    expect(performance.now() - abortedAt).toBeLessThan(100);
    expect(error.code).toBe('ABORTED');
    await vi.waitFor(() => expect(server.stats.slowCancelled).toBe(before.cancelled + 1));
  });

  it('times out with TIMEOUT', async () => {
    const toolbox = await connect({}, { toolTimeoutMs: 100 });
    expect((await rejection(toolbox.callTool('slow', { ms: 3_000 }))).code).toBe('TIMEOUT');
  });

  it('after a server restart, a read-only call reconnects and succeeds', async () => {
    const toolbox = await connect();
    await toolbox.callTool('add', { a: 1, b: 1 });
    const sessionsBefore = server.stats.sessionsCreated;
    await server.restart();
    expect(server.sessionCount).toBe(0);
    const results = await Promise.all([
      toolbox.callTool('add', { a: 2, b: 2 }),
      toolbox.callTool('add', { a: 3, b: 3 }),
      toolbox.callTool('echo', { message: 'idempotent' }),
    ]);
    expect(results.map((result) => result.text)).toEqual(['4', '6', 'idempotent']);
    // One shared reconnect, not one per caller.
    expect(server.stats.sessionsCreated).toBe(sessionsBefore + 1);
  });

  it('after a restart, a non-idempotent call fails with TOOL_ERROR and the next call works', async () => {
    const toolbox = await connect();
    const counterBefore = server.stats.counter;
    await server.restart();
    const error = await rejection(toolbox.callTool('counter', {}));
    expect(error.code).toBe('TOOL_ERROR');
    expect(server.stats.counter).toBe(counterBefore);
    expect((await toolbox.callTool('counter', {})).text).toBe(String(counterBefore + 1));
  });

  it('while the server is down calls are MCP_UNAVAILABLE; once it is back they work again', async () => {
    const toolbox = await connect({}, { connectTimeoutMs: 2_000 });
    await server.stop();
    expect((await rejection(toolbox.callTool('add', { a: 1, b: 2 }))).code).toBe('MCP_UNAVAILABLE');
    await server.start();
    expect((await toolbox.callTool('add', { a: 1, b: 2 })).text).toBe('3');
  });

  it('close ends the MCP session on the server', async () => {
    const toolbox = await connect();
    const before = server.sessionCount;
    await toolbox.close();
    await vi.waitFor(() => expect(server.sessionCount).toBe(before - 1));
  });
});

describe('McpToolbox over legacy SSE', () => {
  let sse: TestMcpSseServer;

  beforeAll(async () => {
    sse = await startTestMcpSseServer({ authToken: TOKEN });
  });

  afterAll(async () => {
    await sse.close();
  });

  it('connects with transport sse', async () => {
    const toolbox = await McpToolbox.connect([{ url: sse.url, transport: 'sse', authToken: TOKEN }]);
    toolboxes.push(toolbox);
    expect((await toolbox.callTool('add', { a: 20, b: 22 })).text).toBe('42');
  });

  it('falls back from Streamable HTTP to SSE when the server answers 405', async () => {
    const info = vi.fn();
    const toolbox = await McpToolbox.connect([{ url: sse.url, authToken: TOKEN }], { logger: { info } });
    toolboxes.push(toolbox);
    expect((await toolbox.callTool('echo', { message: 'old school' })).text).toBe('old school');
    expect(info).toHaveBeenCalledWith(expect.stringContaining('falling back to SSE'), expect.anything());
  });

  it('is MCP_UNAVAILABLE over SSE without the token', async () => {
    const error = await rejection(McpToolbox.connect([{ url: sse.url, transport: 'sse' }]));
    expect(error.code).toBe('MCP_UNAVAILABLE');
  });
});
