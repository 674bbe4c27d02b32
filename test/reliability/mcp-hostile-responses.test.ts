import { afterEach, describe, expect, it } from 'vitest';
import { isLlmChatError } from '../../src/errors.js';
import { McpToolbox, type McpToolboxOptions } from '../../src/mcp/mcp-toolbox.js';
import { type HostileBehaviour, type HostileMcpServer, startHostileMcpServer } from '../fixtures/hostile-mcp-server.js';

// Class 1 of issue 10: an MCP response that never ends. Every exchange must be torn down (the
// server sees its socket close) when its call times out, is aborted or the toolbox closes; no
// response is buffered past the message limit; a response that ends without its answer fails
// the call at once instead of at the tool timeout.

const LIMIT = 256 * 1024;
// Kernel socket buffers on loopback can hold a few MiB the client never read.
const SOCKET_SLACK = 16 * 1024 * 1024;
// What the hostile server would write if nobody stopped it.
const ENDLESS = 64 * 1024 * 1024;
// Long enough that a test relying on it fails by its own timeout instead.
const LONG_TOOL_TIMEOUT_MS = 60_000;

const servers: HostileMcpServer[] = [];
const toolboxes: McpToolbox[] = [];

afterEach(async () => {
  await Promise.all(toolboxes.splice(0).map((toolbox) => toolbox.close()));
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function setUp(behaviour: HostileBehaviour, options: McpToolboxOptions = {}) {
  const server = await startHostileMcpServer({ behaviour, maxEndlessBytes: ENDLESS });
  servers.push(server);
  const toolbox = await McpToolbox.connect([{ url: server.url }], {
    maxMessageBytes: LIMIT,
    toolTimeoutMs: LONG_TOOL_TIMEOUT_MS,
    ...options,
  });
  toolboxes.push(toolbox);
  return { server, toolbox };
}

async function failure(promise: Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    return { ...(isLlmChatError(error) ? { code: error.code } : {}), message: (error as Error).message };
  }
  throw new Error('expected a rejection');
}

/** Waits for the server to see the socket close; 'open' if it has not after `ms`. */
async function socketOutcome(closed: Promise<void>, ms = 5000): Promise<'closed' | 'open'> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const open = new Promise<'open'>((resolve) => {
    timer = setTimeout(() => resolve('open'), ms);
  });
  try {
    return await Promise.race([closed.then(() => 'closed' as const), open]);
  } finally {
    clearTimeout(timer);
  }
}

describe('an MCP answer longer than the message limit', () => {
  for (const behaviour of ['json-endless', 'sse-endless'] as const) {
    it(`${behaviour}: fails the call with TOOL_ERROR and closes the socket after about the limit`, async () => {
      const { server, toolbox } = await setUp(behaviour);
      const error = await failure(toolbox.callTool('hostile', {}));
      expect(error.code).toBe('TOOL_ERROR');
      expect(error.message).toContain(String(LIMIT));
      const exchange = server.exchanges[0];
      expect(exchange).toBeDefined();
      expect(await socketOutcome(exchange?.closed ?? Promise.resolve())).toBe('closed');
      // The server kept writing until the client let go: it got nowhere near its 64 MiB.
      expect(exchange?.bytesWritten).toBeLessThan(LIMIT + SOCKET_SLACK);
    });
  }
});

describe('an endless event on the Streamable HTTP GET stream', () => {
  it('is cut at the limit, its socket released, and the stream not re-opened to be flooded again', async () => {
    const server = await startHostileMcpServer({ getStream: 'endless', maxEndlessBytes: ENDLESS });
    servers.push(server);
    const toolbox = await McpToolbox.connect([{ url: server.url }], { maxMessageBytes: LIMIT });
    toolboxes.push(toolbox);
    await expect.poll(() => server.getExchanges.length).toBe(1);
    const exchange = server.getExchanges[0];
    expect(await socketOutcome(exchange?.closed ?? Promise.resolve())).toBe('closed');
    expect(exchange?.bytesWritten).toBeLessThan(LIMIT + SOCKET_SLACK);
    // The SDK re-opens a broken GET stream after 1 s; give it 1.5 s to (not) do so.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(server.getExchanges).toHaveLength(1);
    // Calls still work.
    expect((await toolbox.callTool('hostile', {})).text).toBe('ok');
  });
});

describe('an MCP answer that stalls', () => {
  for (const behaviour of ['json-stall', 'sse-stall'] as const) {
    it(`${behaviour}: the socket is released when the call times out`, async () => {
      const { server, toolbox } = await setUp(behaviour, { toolTimeoutMs: 300 });
      const error = await failure(toolbox.callTool('hostile', {}));
      expect(error.code).toBe('TIMEOUT');
      expect(await socketOutcome(server.exchanges[0]?.closed ?? Promise.resolve())).toBe('closed');
    });

    it(`${behaviour}: the socket is released when the call is aborted`, async () => {
      const { server, toolbox } = await setUp(behaviour);
      const controller = new AbortController();
      const started = server.nextCall();
      const call = failure(toolbox.callTool('hostile', {}, { signal: controller.signal }));
      const exchange = await started;
      controller.abort();
      expect((await call).code).toBe('ABORTED');
      expect(await socketOutcome(exchange.closed)).toBe('closed');
    });

    it(`${behaviour}: the socket is released when the toolbox closes`, async () => {
      const { server, toolbox } = await setUp(behaviour);
      const started = server.nextCall();
      const call = failure(toolbox.callTool('hostile', {}));
      const exchange = await started;
      await toolbox.close();
      expect((await call).code).toBe('MCP_UNAVAILABLE');
      expect(await socketOutcome(exchange.closed)).toBe('closed');
    });
  }

  it('json-endless under the tool timeout: the timeout releases the socket before the limit is reached', async () => {
    // A large limit: the timeout, not the limit, has to stop it.
    const { server, toolbox } = await setUp('json-endless', {
      toolTimeoutMs: 200,
      maxMessageBytes: 10 * ENDLESS,
    });
    const error = await failure(toolbox.callTool('hostile', {}));
    expect(error.code).toBe('TIMEOUT');
    const exchange = server.exchanges[0];
    expect(await socketOutcome(exchange?.closed ?? Promise.resolve())).toBe('closed');
  });
});

describe('an MCP response that ends without its answer', () => {
  for (const behaviour of ['sse-no-answer', 'json-no-answer', 'sse-reset'] as const) {
    it(`${behaviour}: fails the call at once with TOOL_ERROR, not at the tool timeout`, async () => {
      const { toolbox } = await setUp(behaviour);
      // The tool timeout is a minute; the test's own timeout (10 s) fails a call that waits for it.
      const error = await failure(toolbox.callTool('hostile', {}));
      expect(error.code).toBe('TOOL_ERROR');
      expect(error.message).toMatch(/ended its answer early|failed/);
    }, 10_000);
  }

  it('the connection still works for the next call', async () => {
    const { server, toolbox } = await setUp('sse-no-answer');
    expect((await failure(toolbox.callTool('hostile', {}))).code).toBe('TOOL_ERROR');
    server.behaviour = 'answer';
    const result = await toolbox.callTool('hostile', {});
    expect(result.text).toBe('ok');
  });
});

describe('the legacy HTTP+SSE transport', () => {
  it('a stalled answer on the event stream is given up at the timeout, and a closed toolbox releases the stream', async () => {
    const server = await startHostileMcpServer({ behaviour: 'answer' });
    servers.push(server);
    const toolbox = await McpToolbox.connect([{ url: server.sseUrl, transport: 'sse' }], { toolTimeoutMs: 300 });
    toolboxes.push(toolbox);
    expect((await failure(toolbox.callTool('hostile', {}))).code).toBe('TIMEOUT');
    const getStream = server.requests.find((request) => request.method === 'GET' && request.path === '/sse');
    expect(getStream).toBeDefined();
    expect(server.openLegacyStreams).toBe(1);
    await toolbox.close();
    await expect.poll(() => server.openLegacyStreams, { timeout: 5000 }).toBe(0);
  });

  it('the event stream dropping mid-call fails the call at once, not at the tool timeout', async () => {
    const server = await startHostileMcpServer({ behaviour: 'answer' });
    servers.push(server);
    const toolbox = await McpToolbox.connect([{ url: server.sseUrl, transport: 'sse' }], {
      toolTimeoutMs: LONG_TOOL_TIMEOUT_MS,
    });
    toolboxes.push(toolbox);
    const call = failure(toolbox.callTool('hostile', {}));
    await expect.poll(() => server.requests.some((request) => request.rpcMethod === 'tools/call')).toBe(true);
    server.dropLegacyStreams();
    // The session went with the stream; 'hostile' is not idempotent, so it is not repeated.
    const error = await call;
    expect(error.code).toBe('TOOL_ERROR');
    expect(error.message).toContain('lost the session');
    expect(server.requests.filter((request) => request.rpcMethod === 'tools/call')).toHaveLength(1);
  }, 10_000);

  it('an endless event on the event stream is cut at the limit: the stream is closed and the call fails at once', async () => {
    const server = await startHostileMcpServer({ behaviour: 'sse-endless', maxEndlessBytes: ENDLESS });
    servers.push(server);
    const toolbox = await McpToolbox.connect([{ url: server.sseUrl, transport: 'sse' }], {
      toolTimeoutMs: LONG_TOOL_TIMEOUT_MS,
      maxMessageBytes: LIMIT,
    });
    toolboxes.push(toolbox);
    const error = await failure(toolbox.callTool('hostile', {}));
    expect(error.code).toBe('TOOL_ERROR');
    const exchange = server.exchanges[0];
    expect(await socketOutcome(exchange?.closed ?? Promise.resolve())).toBe('closed');
    expect(exchange?.bytesWritten).toBeLessThan(LIMIT + SOCKET_SLACK);
  }, 10_000);
});
