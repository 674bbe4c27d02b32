import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { McpToolbox } from '../../src/mcp/index.js';
import { toolsByServer } from '../../src/mcp/stored-tool.js';
import type { McpServerConfig } from '../../src/types.js';
import { startTestMcpHttpServer, type TestMcpHttpServer } from '../fixtures/test-mcp-server.js';

// Names the MCP spec allows and model APIs refuse, next to one that is already safe.
const TOOL_NAMES = ['files.read', 'files_read', 'get weather', 'météo', 'a'.repeat(200), 'plain'];
const SAFE = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * A real SDK server (the low-level `Server`: `McpServer` warns on the console about such names)
 * whose every tool answers with the name it was called by.
 */
function namesServer(): Server {
  const server = new Server({ name: 'names', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: TOOL_NAMES.map((name) => ({ name, inputSchema: { type: 'object' as const, properties: {} } })),
  }));
  server.setRequestHandler(CallToolRequestSchema, async (request) => ({
    content: [{ type: 'text', text: `called ${request.params.name}` }],
  }));
  return server;
}

let server: TestMcpHttpServer;
let servers: McpServerConfig[];

beforeAll(async () => {
  server = await startTestMcpHttpServer({ createServer: namesServer });
  // The same tools twice: every name collides, so each is also prefixed (and cut where long).
  servers = [
    { url: server.url, name: 'notes.example.com' },
    { url: server.url, name: 'a-server-with-a-rather-long-name' },
  ];
});

afterAll(async () => {
  await server.close();
});

/** Calls every listed tool and returns what each call reached, by the public name. */
async function reached(toolbox: McpToolbox): Promise<Map<string, string | undefined>> {
  const results = new Map<string, string | undefined>();
  for (const { name } of toolbox.listTools()) results.set(name, (await toolbox.callTool(name, {})).text);
  return results;
}

describe('tool names over a real MCP server', () => {
  it('offers only model-safe unique names, and each call reaches the tool it names', async () => {
    const toolbox = await McpToolbox.connect(servers);
    try {
      const stored = toolbox.storedTools();
      const names = stored.map((tool) => tool.name);
      for (const name of names) expect(name).toMatch(SAFE);
      expect(new Set(names).size).toBe(TOOL_NAMES.length * 2);
      const results = await reached(toolbox);
      for (const tool of stored) {
        expect(results.get(tool.name)).toBe(`called ${tool.originalName ?? tool.name}`);
        expect(toolbox.describeTool(tool.name)?.server).toBe(servers[tool.server]?.name);
      }
      expect(names).toContain('notes_example_com_files_read');
      expect(names).toContain('notes_example_com_plain');
    } finally {
      await toolbox.close();
    }
  });

  it('keeps a single server’s safe names and routes the stored names after a lazy reconnect', async () => {
    const one = [servers[0] as McpServerConfig];
    const listing = await McpToolbox.connect(one);
    const stored = listing.storedTools();
    await listing.close();
    expect(stored.find((tool) => tool.name === 'plain')?.originalName).toBeUndefined();
    expect(stored.find((tool) => tool.name === 'get_weather')?.originalName).toBe('get weather');
    // A session's later connection takes the stored tools instead of listing: same names, same targets.
    const live = await McpToolbox.connect(one, { knownTools: toolsByServer(stored, one.length) });
    try {
      const results = await reached(live);
      for (const tool of stored) expect(results.get(tool.name)).toBe(`called ${tool.originalName ?? tool.name}`);
    } finally {
      await live.close();
    }
  });
});
