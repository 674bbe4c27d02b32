import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { LlmChatError } from '../../src/errors.js';
import { McpToolbox, type McpToolboxOptions } from '../../src/mcp/index.js';
import {
  connectInMemory,
  createTestMcpServer,
  createTestMcpStats,
  type TestMcpStats,
  TINY_PNG_BASE64,
} from '../fixtures/test-mcp-server.js';

const toolboxes: McpToolbox[] = [];

async function connectTestServer(stats: TestMcpStats = createTestMcpStats(), options: McpToolboxOptions = {}) {
  const toolbox = await McpToolbox.connect([{ name: 'test' }], {
    createTransport: () => connectInMemory(stats),
    ...options,
  });
  toolboxes.push(toolbox);
  return { toolbox, stats };
}

async function rejection(promise: Promise<unknown>): Promise<LlmChatError> {
  try {
    await promise;
  } catch (error) {
    return error as LlmChatError;
  }
  throw new Error('expected a rejection');
}

afterEach(async () => {
  await Promise.all(toolboxes.splice(0).map((toolbox) => toolbox.close()));
});

describe('McpToolbox (in memory)', () => {
  it('lists the tools of the server with their schemas', async () => {
    const { toolbox } = await connectTestServer();
    const tools = toolbox.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual(
      ['add', 'big', 'counter', 'echo', 'fail', 'image', 'slow', 'structured'].sort(),
    );
    const add = tools.find((tool) => tool.name === 'add');
    expect(add?.description).toBe('Adds two numbers.');
    expect(add?.inputSchema).toMatchObject({ type: 'object', properties: { a: { type: 'number' } } });
    expect(toolbox.serverCount).toBe(1);
  });

  it('calls tools and converts their results', async () => {
    const { toolbox } = await connectTestServer();
    expect(await toolbox.callTool('add', { a: 2, b: 3 })).toEqual({ text: '5', output: '5', isError: false });
    expect((await toolbox.callTool('echo', { message: 'hi there' })).text).toBe('hi there');

    const failed = await toolbox.callTool('fail', {});
    expect(failed).toMatchObject({ isError: true, text: 'Something went wrong on purpose.' });

    const image = await toolbox.callTool('image', {});
    expect(image.images).toEqual([{ data: TINY_PNG_BASE64, mimeType: 'image/png' }]);
    expect(image.text).toMatch(/^a tiny image\n\[image: image\/png, \d+ bytes\]$/);

    const structured = await toolbox.callTool('structured', { city: 'Oslo' });
    expect(structured.output).toEqual({ city: 'Oslo', temperature: 21, conditions: 'sunny' });
    expect(JSON.parse(structured.text)).toEqual(structured.output);
  });

  it('cuts big results keeping head and tail', async () => {
    const { toolbox } = await connectTestServer(createTestMcpStats(), { maxResultChars: 1_000 });
    const result = await toolbox.callTool('big', { size: 100_000 });
    expect(result.text.length).toBeLessThanOrEqual(1_000);
    expect(result.text.startsWith('START-')).toBe(true);
    expect(result.text.endsWith('-END')).toBe(true);
    expect(result.text).toMatch(/…\[truncated 99\d{3} characters\]…/);
  });

  it('rejects an unknown tool name with TOOL_ERROR', async () => {
    const { toolbox } = await connectTestServer();
    expect((await rejection(toolbox.callTool('nope', {}))).code).toBe('TOOL_ERROR');
  });

  it('times out with TIMEOUT and cancels the call on the server', async () => {
    const { toolbox, stats } = await connectTestServer();
    const error = await rejection(toolbox.callTool('slow', { ms: 5_000 }, { timeoutMs: 100 }));
    expect(error.code).toBe('TIMEOUT');
    await vi.waitFor(() => expect(stats.slowCancelled).toBe(1));
    expect(stats.slowCompleted).toBe(0);
  });

  it('uses toolTimeoutMs when the call sets no timeout', async () => {
    const { toolbox } = await connectTestServer(createTestMcpStats(), { toolTimeoutMs: 50 });
    expect((await rejection(toolbox.callTool('slow', { ms: 2_000 }))).code).toBe('TIMEOUT');
  });

  it('aborts within 100 ms with ABORTED, and the server sees the cancellation', async () => {
    const { toolbox, stats } = await connectTestServer();
    const controller = new AbortController();
    const call = toolbox.callTool('slow', { ms: 5_000 }, { signal: controller.signal });
    await vi.waitFor(() => expect(stats.slowStarted).toBe(1));
    const abortedAt = performance.now();
    controller.abort();
    const error = await rejection(call);
    expect(performance.now() - abortedAt).toBeLessThan(100);
    expect(error.code).toBe('ABORTED');
    await vi.waitFor(() => expect(stats.slowCancelled).toBe(1));
    // The connection is still usable after a cancelled call.
    expect((await toolbox.callTool('add', { a: 1, b: 1 })).text).toBe('2');
  });

  it('refuses a call whose signal is already aborted without reaching the server', async () => {
    const { toolbox, stats } = await connectTestServer();
    const error = await rejection(toolbox.callTool('add', { a: 1, b: 2 }, { signal: AbortSignal.abort() }));
    expect(error.code).toBe('ABORTED');
    expect(stats.calls.add).toBeUndefined();
  });

  it('prefixes colliding tool names with the server name and routes calls to the right server', async () => {
    const first = createTestMcpStats();
    const second = createTestMcpStats();
    const toolbox = await McpToolbox.connect([{ name: 'alpha' }, {}], {
      createTransport: (server) => connectInMemory(server.name === 'alpha' ? first : second),
    });
    toolboxes.push(toolbox);
    const names = toolbox.listTools().map((tool) => tool.name);
    expect(names).toContain('alpha_add');
    expect(names).toContain('server2_add');
    expect(names).not.toContain('add');
    expect(new Set(names).size).toBe(names.length);
    expect(toolbox.serverCount).toBe(2);

    expect((await toolbox.callTool('server2_add', { a: 4, b: 4 })).text).toBe('8');
    expect(second.calls.add).toBe(1);
    expect(first.calls.add).toBeUndefined();
  });

  it('follows nextCursor to list every page of tools', async () => {
    const pages = [['t1', 't2'], ['t3', 't4'], ['t5']];
    const listed: (string | undefined)[] = [];
    const pagedServer = () => {
      const server = new Server({ name: 'paged', version: '1.0.0' }, { capabilities: { tools: {} } });
      server.setRequestHandler(ListToolsRequestSchema, (request) => {
        const cursor = request.params?.cursor;
        listed.push(cursor);
        const index = cursor === undefined ? 0 : Number(cursor);
        const tools = (pages[index] ?? []).map((name) => ({ name, inputSchema: { type: 'object' as const } }));
        return index + 1 < pages.length ? { tools, nextCursor: String(index + 1) } : { tools };
      });
      server.setRequestHandler(CallToolRequestSchema, (request) => ({
        content: [{ type: 'text', text: `called ${request.params.name}` }],
      }));
      return server;
    };
    const toolbox = await McpToolbox.connect([{}], {
      createTransport: () => connectInMemory(createTestMcpStats(), pagedServer),
    });
    toolboxes.push(toolbox);
    expect(toolbox.listTools().map((tool) => tool.name)).toEqual(['t1', 't2', 't3', 't4', 't5']);
    expect(listed).toEqual([undefined, '1', '2']);
    expect((await toolbox.callTool('t5', {})).text).toBe('called t5');
  });

  it('refuses stdio servers unless allowStdio is set, before opening anything', async () => {
    const createTransport = vi.fn(() => connectInMemory());
    const error = await rejection(
      McpToolbox.connect([{ name: 'ok' }, { transport: 'stdio', command: 'node' }], { createTransport }),
    );
    expect(error.code).toBe('SERVER_NOT_ALLOWED');
    expect(createTransport).not.toHaveBeenCalled();
  });

  it('closes what it opened when another server fails, with a safe MCP_UNAVAILABLE', async () => {
    let goodClosed = false;
    const error = await rejection(
      McpToolbox.connect([{ name: 'good' }, { name: 'bad', url: 'http://user:pw@127.0.0.1:1/mcp', authToken: 'tok' }], {
        createTransport: (server): Transport => {
          if (server.name === 'good') {
            const transport = connectInMemory();
            transport.onclose = () => {
              goodClosed = true;
            };
            return transport;
          }
          const [broken] = InMemoryTransport.createLinkedPair();
          broken.start = () => Promise.reject(new Error('refused by http://user:pw@127.0.0.1:1/mcp tok'));
          return broken;
        },
      }),
    );
    expect(error.code).toBe('MCP_UNAVAILABLE');
    expect(error.message).toBe('Failed to connect to MCP server. Please verify the server URL and authentication.');
    expect(error.cause).toBeInstanceOf(Error);
    expect(goodClosed).toBe(true);
  });

  it('respects connectTimeoutMs for a server that never answers', async () => {
    const started = performance.now();
    const error = await rejection(
      McpToolbox.connect([{}], {
        connectTimeoutMs: 150,
        // One side of a pair whose other side is never served: initialize gets no answer.
        createTransport: () => InMemoryTransport.createLinkedPair()[0],
      }),
    );
    expect(error.code).toBe('MCP_UNAVAILABLE');
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('reconnects once when the transport closed under it, shared by concurrent callers', async () => {
    const serverSides: InMemoryTransport[] = [];
    const stats = createTestMcpStats();
    const createTransport = vi.fn(() => {
      const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
      serverSides.push(serverSide);
      void createTestMcpServer(stats).connect(serverSide);
      return clientSide;
    });
    const toolbox = await McpToolbox.connect([{}], { createTransport });
    toolboxes.push(toolbox);
    await serverSides[0]?.close();

    const results = await Promise.all([
      toolbox.callTool('add', { a: 1, b: 2 }),
      toolbox.callTool('echo', { message: 'again' }),
      toolbox.callTool('add', { a: 3, b: 4 }),
    ]);
    expect(results.map((result) => result.text)).toEqual(['3', 'again', '7']);
    expect(createTransport).toHaveBeenCalledTimes(2);
  });

  it('close is idempotent and later calls are MCP_UNAVAILABLE', async () => {
    const { toolbox } = await connectTestServer();
    expect(toolbox.isClosed).toBe(false);
    await Promise.all([toolbox.close(), toolbox.close()]);
    await toolbox.close();
    expect(toolbox.isClosed).toBe(true);
    expect((await rejection(toolbox.callTool('add', { a: 1, b: 2 }))).code).toBe('MCP_UNAVAILABLE');
  });

  it('ends calls in flight at close with MCP_UNAVAILABLE', async () => {
    const { toolbox, stats } = await connectTestServer();
    const call = toolbox.callTool('slow', { ms: 5_000 });
    await vi.waitFor(() => expect(stats.slowStarted).toBe(1));
    await toolbox.close();
    expect((await rejection(call)).code).toBe('MCP_UNAVAILABLE');
  });
});
