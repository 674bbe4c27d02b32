import { afterEach, describe, expect, it, vi } from 'vitest';
import { isLlmChatError, LlmChatError } from '../../src/errors.js';
import { LazyToolbox, type LiveToolSource } from '../../src/mcp/lazy-toolbox.js';
import { McpToolbox } from '../../src/mcp/mcp-toolbox.js';
import type { StoredTool } from '../../src/mcp/stored-tool.js';
import { toolsByServer } from '../../src/mcp/stored-tool.js';
import { connectInMemory, createTestMcpStats } from '../fixtures/test-mcp-server.js';

const TOOLS: StoredTool[] = [
  {
    name: 'add',
    server: 0,
    description: 'Adds.',
    inputSchema: { type: 'object' },
    annotations: { readOnlyHint: true },
  },
  { name: 'gone', server: 0, inputSchema: { type: 'object' } },
];

/** A live toolbox offering `offered` (public name, or [public name, the server's own name]). */
function fakeLive(offered: Array<string | [string, string]>): LiveToolSource & { closed: boolean } {
  const names = new Map(offered.map((entry) => (typeof entry === 'string' ? [entry, entry] : entry)));
  const live = {
    closed: false,
    describeTool: (name: string) => {
      const originalName = names.get(name);
      return originalName === undefined ? undefined : { server: 'server1', originalName };
    },
    callTool: async (name: string) => ({ text: `ran ${name}`, output: `ran ${name}`, isError: false }),
    close: async () => {
      live.closed = true;
    },
  };
  return live;
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'resolved';
  } catch (error) {
    return isLlmChatError(error) ? error.code : 'untyped';
  }
}

afterEach(() => {
  vi.useRealTimers();
});

describe('LazyToolbox', () => {
  it('lists and describes the stored tools without connecting', () => {
    const open = vi.fn(async () => fakeLive(['add']));
    const toolbox = new LazyToolbox({ tools: TOOLS, servers: [{ url: 'http://127.0.0.1:1/mcp' }], open, idleMs: 1000 });
    expect(toolbox.listTools().map((tool) => tool.name)).toEqual(['add', 'gone']);
    expect(toolbox.listTools()).toBe(toolbox.listTools());
    expect(toolbox.describeTool('add')).toEqual({
      server: 'server1',
      url: 'http://127.0.0.1:1/mcp',
      annotations: { readOnlyHint: true },
    });
    expect(toolbox.describeTool('nope')).toBeUndefined();
    expect(open).not.toHaveBeenCalled();
    expect(toolbox.isConnected).toBe(false);
  });

  it('shares the tool specs of one stored list among toolboxes (each provider serializes them once)', () => {
    const open = async () => fakeLive(['add']);
    const servers = [{ url: 'http://127.0.0.1:1/mcp' }];
    const one = new LazyToolbox({ tools: TOOLS, servers, open, idleMs: 1000 });
    const two = new LazyToolbox({ tools: TOOLS, servers, open, idleMs: 1000 });
    const other = new LazyToolbox({ tools: [...TOOLS], servers, open, idleMs: 1000 });
    expect(two.listTools()).toBe(one.listTools());
    expect(other.listTools()).not.toBe(one.listTools());
    expect(other.listTools()).toEqual(one.listTools());
  });

  it('gives a typed TOOL_ERROR for a tool the server no longer offers, or one never listed', async () => {
    const toolbox = new LazyToolbox({ tools: TOOLS, servers: [{}], open: async () => fakeLive(['add']), idleMs: 1000 });
    expect((await toolbox.callTool('add', {})).text).toBe('ran add');
    expect(await codeOf(toolbox.callTool('gone', {}))).toBe('TOOL_ERROR');
    expect(await codeOf(toolbox.callTool('never', {}))).toBe('TOOL_ERROR');
    await toolbox.close();
    expect(await codeOf(toolbox.callTool('add', {}))).toBe('MCP_UNAVAILABLE');
  });

  it('never sends a remembered name to another tool of the same server that a fresh listing gave it', async () => {
    // Remembered: `files_read` was the cleaned name of the server's `files.read`. Listed anew,
    // the server also offers a real `files_read`, which takes that name.
    const tools = [{ name: 'files_read', originalName: 'files.read', server: 0, inputSchema: { type: 'object' } }];
    const relisted = fakeLive([
      ['files_read', 'files_read'],
      ['files_read_1a2b3c4d', 'files.read'],
    ]);
    const toolbox = new LazyToolbox({ tools, servers: [{}], open: async () => relisted, idleMs: 1000 });
    expect(await codeOf(toolbox.callTool('files_read', {}))).toBe('TOOL_ERROR');
    await toolbox.close();
    const same = fakeLive([['files_read', 'files.read']]);
    const again = new LazyToolbox({ tools, servers: [{}], open: async () => same, idleMs: 1000 });
    expect((await again.callTool('files_read', {})).text).toBe('ran files_read');
    await again.close();
  });

  it('shares one connect among concurrent calls, keeps no failed connect, and closes when idle', async () => {
    vi.useFakeTimers();
    const opened: Array<ReturnType<typeof fakeLive>> = [];
    let failNext = true;
    const open = vi.fn(async () => {
      if (failNext) {
        failNext = false;
        throw new LlmChatError('MCP_UNAVAILABLE', 'down');
      }
      const live = fakeLive(['add']);
      opened.push(live);
      return live;
    });
    const toolbox = new LazyToolbox({ tools: TOOLS, servers: [{}], open, idleMs: 5000 });
    const failed = await Promise.all([codeOf(toolbox.callTool('add', {})), codeOf(toolbox.callTool('add', {}))]);
    expect(failed).toEqual(['MCP_UNAVAILABLE', 'MCP_UNAVAILABLE']);
    expect(open).toHaveBeenCalledTimes(1);
    expect(toolbox.isConnected).toBe(false);

    await Promise.all([1, 2, 3].map(() => toolbox.callTool('add', {})));
    expect(open).toHaveBeenCalledTimes(2);
    expect(toolbox.isConnected).toBe(true);
    await vi.advanceTimersByTimeAsync(4999);
    expect(opened[0]?.closed).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(opened[0]?.closed).toBe(true);
    expect(toolbox.isConnected).toBe(false);

    await toolbox.callTool('add', {});
    expect(open).toHaveBeenCalledTimes(3);
    await toolbox.close();
    expect(opened[1]?.closed).toBe(true);
  });

  it('an aborted call stops waiting for the connect, which others still get', async () => {
    let finish: (live: LiveToolSource) => void = () => undefined;
    const open = () => new Promise<LiveToolSource>((resolve) => (finish = resolve));
    const toolbox = new LazyToolbox({ tools: TOOLS, servers: [{}], open, idleMs: 1000 });
    const controller = new AbortController();
    const cancelled = codeOf(toolbox.callTool('add', {}, { signal: controller.signal }));
    const other = toolbox.callTool('add', {});
    controller.abort();
    expect(await cancelled).toBe('ABORTED');
    finish(fakeLive(['add']));
    expect((await other).text).toBe('ran add');
    await toolbox.close();
  });

  it('works over a real McpToolbox: stored tools from one connection, calls over a later one', async () => {
    const stats = createTestMcpStats();
    const options = { createTransport: () => connectInMemory(stats) };
    const lister = await McpToolbox.connect([{ name: 'main' }], options);
    const stored = lister.storedTools();
    await lister.close();
    expect(stored.find((tool) => tool.name === 'echo')).toMatchObject({
      server: 0,
      annotations: { idempotentHint: true },
    });
    const toolbox = new LazyToolbox({
      tools: stored,
      servers: [{ name: 'main' }],
      open: () => McpToolbox.connect([{ name: 'main' }], options),
      idleMs: 1000,
    });
    expect(stats.sessionsCreated).toBe(1);
    expect((await toolbox.callTool('add', { a: 2, b: 3 })).text).toBe('5');
    expect(stats.sessionsCreated).toBe(2);
    await toolbox.close();
  });

  it('a connection given the stored tools skips listing them, also with names made unique across two servers', async () => {
    const stats = createTestMcpStats();
    const methods: string[] = [];
    const createTransport = () => {
      const transport = connectInMemory(stats);
      const send = transport.send.bind(transport);
      transport.send = (message, options) => {
        if ('method' in message) methods.push(message.method);
        return send(message, options);
      };
      return transport;
    };
    const servers = [{ name: 'one' }, { name: 'two' }];
    const lister = await McpToolbox.connect(servers, { createTransport });
    const stored = lister.storedTools();
    await lister.close();
    expect(methods.filter((method) => method === 'tools/list')).toHaveLength(2);
    expect(stored.find((tool) => tool.name === 'two_add')).toMatchObject({ server: 1, originalName: 'add' });

    methods.length = 0;
    const toolbox = new LazyToolbox({
      tools: stored,
      servers,
      open: () => McpToolbox.connect(servers, { createTransport, knownTools: toolsByServer(stored, servers.length) }),
      idleMs: 1000,
    });
    expect((await toolbox.callTool('two_add', { a: 1, b: 2 })).text).toBe('3');
    expect(methods).not.toContain('tools/list');
    expect(methods).toContain('tools/call');
    await toolbox.close();
  });
});
