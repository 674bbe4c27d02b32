import { CallToolRequestSchema, ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { sessionKeys, toolListKey } from '../../src/session/session-keys.js';
import { type ChatStorage, memoryStorage } from '../../src/storage.js';
import { createTestMcpServer, startTestMcpHttpServer, type TestMcpHttpServer } from '../fixtures/test-mcp-server.js';
import { jsonRequest, type Stack, smartReply, startStack } from './stack.js';

// Connect lists the tools and remembers them with the session; the MCP session is opened by the
// first tool call of a turn and closed again when idle. The test MCP server counts live sessions.
describe('MCP connections are made on the first tool call, not at connect', () => {
  let storage: ChatStorage;
  let stack: Stack;

  const connect = async (user: string) => {
    const answer = await stack.handler.fetch(jsonRequest('/connect', user, { llm: { model: 'fake' } }));
    expect(answer.status).toBe(200);
    return (await answer.json()) as { tools: string[] };
  };
  const chat = async (user: string, message: string) => {
    const answer = await stack.handler.fetch(jsonRequest('/chat', user, { message, streaming: false }));
    return { status: answer.status, body: (await answer.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    storage = memoryStorage();
    // Long enough that no connection closes during a test that does not wait for it.
    stack = await startStack({ storage, connections: { idleMs: 1_000 } });
  });

  beforeEach(() => {
    stack.llm.reply(smartReply);
  });

  afterAll(async () => {
    await stack?.close();
    await storage?.close();
  });

  it('connect lists the tools, remembers them and leaves no MCP session open', async () => {
    const created = stack.mcp.stats.sessionsCreated;
    const connected = await connect('idle');
    expect(connected.tools).toEqual(expect.arrayContaining(['add', 'echo', 'slow']));
    // One session was made to list the tools, and it is closed (DELETE) before connect answers.
    expect(stack.mcp.stats.sessionsCreated).toBe(created + 1);
    expect(stack.mcp.sessionCount).toBe(0);
    // The record names its tool list, stored once for every session that lists the same tools.
    const record = JSON.parse(String(await storage.sessions.get(sessionKeys('idle').session)));
    expect(record.tools).toBeUndefined();
    const tools = JSON.parse(String(await storage.sessions.get(toolListKey(record.toolList.sha256))));
    expect(tools.map((tool: { name: string }) => tool.name)).toEqual(connected.tools);
    expect(tools.find((tool: { name: string }) => tool.name === 'add')).toMatchObject({
      server: 0,
      description: 'Adds two numbers.',
      annotations: { readOnlyHint: true },
      inputSchema: { type: 'object' },
    });
  });

  it('a turn without tool calls opens no MCP session, yet offers the stored tools to the model', async () => {
    await connect('talker');
    const created = stack.mcp.stats.sessionsCreated;
    const answer = await chat('talker', 'hello');
    expect(answer.status).toBe(200);
    expect(answer.body.response).toBe('Hello from the fake.');
    expect(stack.mcp.stats.sessionsCreated).toBe(created);
    expect(stack.mcp.sessionCount).toBe(0);
    const offered = (stack.llm.requests.at(-1)?.body.tools ?? []) as Array<{ function: { name: string } }>;
    expect(offered.map((tool) => tool.function.name)).toContain('add');
  });

  it('the first tool call opens one MCP session, later calls reuse it, and it closes when idle', async () => {
    await connect('caller');
    const created = stack.mcp.stats.sessionsCreated;
    const first = await chat('caller', 'add 2 and 3');
    expect(first.body.response).toBe('The result is 5.');
    expect(stack.mcp.stats.sessionsCreated).toBe(created + 1);
    expect(stack.mcp.sessionCount).toBe(1);
    const second = await chat('caller', 'add 4 and 5');
    expect(second.body.response).toBe('The result is 9.');
    expect(stack.mcp.stats.sessionsCreated).toBe(created + 1);
    // Nothing calls a tool now: the connection is closed after connections.idleMs.
    await vi.waitFor(() => expect(stack.mcp.sessionCount).toBe(0), { timeout: 10_000, interval: 50 });
    // And the next tool call connects again.
    const third = await chat('caller', 'add 1 and 1');
    expect(third.body.response).toBe('The result is 2.');
    expect(stack.mcp.stats.sessionsCreated).toBe(created + 2);
  });

  it('concurrent first tool calls of one user build one connection', async () => {
    await connect('parallel');
    const created = stack.mcp.stats.sessionsCreated;
    stack.llm.reply((request) => {
      const messages = (request.body?.messages ?? []) as Array<{ role: string }>;
      if (messages.at(-1)?.role === 'tool') return { kind: 'text', chunks: ['done'] };
      return {
        kind: 'tool_calls',
        calls: [1, 2, 3, 4].map((n) => ({ name: 'add', arguments: { a: n, b: n } })),
      };
    });
    const answer = await chat('parallel', 'four at once');
    const outputs = (answer.body.tool_invocations as Array<{ type: string; output?: unknown }>)
      .filter((event) => event.type === 'tool_end')
      .map((event) => event.output);
    expect(outputs.sort()).toEqual(['2', '4', '6', '8']);
    expect(stack.mcp.stats.sessionsCreated).toBe(created + 1);
  });

  it('a stored tool list that is junk makes the session SESSION_INVALID, not a crash', async () => {
    await connect('junk');
    const key = sessionKeys('junk').session;
    const record = JSON.parse(String(await storage.sessions.get(key)));
    const junk = [
      'not a list',
      [{ name: 42, server: 0, inputSchema: {} }],
      [{ name: 'add', server: -1, inputSchema: {} }],
      // Valid shapes, but a server the configuration does not have.
      [{ name: 'add', server: 3, inputSchema: {} }],
      [
        { name: 'add', server: 0, inputSchema: {} },
        { name: 'add', server: 0, inputSchema: {} },
      ],
      [{ name: 'add', server: 0, inputSchema: 'schema' }],
    ];
    for (const tools of junk) {
      await storage.sessions.set(key, JSON.stringify({ ...record, tools }), 60_000);
      const answer = await chat('junk', 'add 1 and 2');
      expect([answer.status, answer.body.code]).toEqual([500, 'SESSION_INVALID']);
      const status = await stack.handler.fetch(jsonRequest('/status/junk', 'junk'));
      expect(await status.json()).toEqual({ user_id: 'junk', connected: false });
    }
    // Connecting again stores a good list.
    await connect('junk');
    expect((await chat('junk', 'add 1 and 2')).body.response).toBe('The result is 3.');
  });

  it('a record stored without tools (an older version wrote it) still chats, listing the tools at the turn', async () => {
    await connect('older');
    const key = sessionKeys('older').session;
    const { tools: _dropped, ...record } = JSON.parse(String(await storage.sessions.get(key)));
    await storage.sessions.set(key, JSON.stringify(record), 60_000);
    expect((await chat('older', 'add 3 and 4')).body.response).toBe('The result is 7.');
  });

  it('GET /config answers as before: no tools in it, secrets masked', async () => {
    await connect('configured');
    const answer = await stack.handler.fetch(jsonRequest('/config/configured', 'configured'));
    const config = (await answer.json()) as Record<string, unknown>;
    expect(config).not.toHaveProperty('tools');
    expect(config.mcp_server).toMatchObject({ url: stack.mcp.url, auth_token: '*****' });
  });
});

describe('tools that changed on the server since connect', () => {
  let stack: Stack;
  let withoutAdd = false;
  let mcp: TestMcpHttpServer;

  beforeAll(async () => {
    // Each MCP session gets a server built now: once `withoutAdd` is set, one without `add`.
    mcp = await startTestMcpHttpServer({
      createServer: (stats) => {
        const server = createTestMcpServer(stats);
        if (withoutAdd)
          server.server.setRequestHandler(CallToolRequestSchema, async () => {
            throw new McpError(ErrorCode.InvalidParams, 'Tool add not found');
          });
        return server;
      },
    });
    stack = await startStack({ mcp: { defaultServer: { url: mcp.url }, allowedUrls: [mcp.url] } });
  });

  afterAll(async () => {
    await stack?.close();
    await mcp?.close();
  });

  it('a tool the server no longer offers is a tool error the model reads, and the turn still answers', async () => {
    expect((await stack.handler.fetch(jsonRequest('/connect', 'changed', { llm: { model: 'fake' } }))).status).toBe(
      200,
    );
    withoutAdd = true;
    const answer = await stack.handler.fetch(
      jsonRequest('/chat', 'changed', { message: 'add 2 and 3', streaming: false }),
    );
    expect(answer.status).toBe(200);
    const body = (await answer.json()) as { response: string; tool_invocations: Array<{ type: string }> };
    expect(body.tool_invocations.map((event) => event.type)).toEqual(['tool_start', 'tool_error']);
    // The fake LLM answers with what the tool returned: the error text.
    expect(body.response).toMatch(/^The result is .+\.$/);
  });
});
