import { afterEach, describe, expect, it } from 'vitest';
import { McpToolbox } from '../../src/mcp/mcp-toolbox.js';
import { DEFAULT_MAX_IMAGE_BYTES, toToolResult } from '../../src/mcp/tool-result.js';
import type { Logger } from '../../src/types.js';
import { type HostileMcpServer, startHostileMcpServer } from '../fixtures/hostile-mcp-server.js';
import { startTestMcpHttpServer, type TestMcpHttpServer } from '../fixtures/test-mcp-server.js';

// Class 6 of issue 10, MCP side: how many tools a server may list and how big they may be, and
// how many image bytes a tool result may keep.

const servers: Array<HostileMcpServer | TestMcpHttpServer> = [];
const toolboxes: McpToolbox[] = [];

afterEach(async () => {
  await Promise.all(toolboxes.splice(0).map((toolbox) => toolbox.close()));
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

function warnings(): Logger & { lines: Array<{ message: string; meta?: Record<string, unknown> }> } {
  const lines: Array<{ message: string; meta?: Record<string, unknown> }> = [];
  return {
    lines,
    warn: (message, meta) => {
      lines.push({ message, ...(meta ? { meta } : {}) });
    },
  };
}

describe('a server that lists a tool with an empty name', () => {
  it('is listed without it: no model can call it, and a stored session would refuse it', async () => {
    const server = await startHostileMcpServer({ extraToolNames: ['', 'named'] });
    servers.push(server);
    const toolbox = await McpToolbox.connect([{ url: server.url }]);
    toolboxes.push(toolbox);
    expect(toolbox.listTools().map((tool) => tool.name)).toEqual(['hostile', 'named']);
  });
});

describe('a server that lists a tool whose schema nests hundreds of levels deep', () => {
  it('drops it as oversized: such a schema could not be stored or sent', async () => {
    const server = await startHostileMcpServer({ deepToolDepth: 300 });
    servers.push(server);
    const logger = warnings();
    const toolbox = await McpToolbox.connect([{ url: server.url }], { logger });
    toolboxes.push(toolbox);
    expect(toolbox.listTools().map((tool) => tool.name)).toEqual(['hostile']);
    expect(logger.lines[0]?.meta).toMatchObject({ droppedOversized: 1 });
  });
});

describe('a server that lists 40,000 tools', () => {
  it('keeps the first 1000 by default and says so in a warn line', async () => {
    const server = await startHostileMcpServer({ tools: 40_000 });
    servers.push(server);
    const logger = warnings();
    const toolbox = await McpToolbox.connect([{ url: server.url }], { logger });
    toolboxes.push(toolbox);
    const names = toolbox.listTools().map((tool) => tool.name);
    expect(names).toHaveLength(1000);
    expect(names[0]).toBe('hostile');
    expect(names.at(-1)).toBe('tool999');
    expect(logger.lines).toEqual([
      expect.objectContaining({
        message: expect.stringContaining('left out'),
        meta: expect.objectContaining({ kept: 1000, droppedOverCount: 39_000, maxTools: 1000 }),
      }),
    ]);
  });

  it('with the cap raised, all of them are listed and reachable by name (linear: Maps, not scans)', async () => {
    const server = await startHostileMcpServer({ tools: 40_000 });
    servers.push(server);
    const toolbox = await McpToolbox.connect([{ url: server.url }], { maxToolsPerServer: 50_000 });
    toolboxes.push(toolbox);
    expect(toolbox.listTools()).toHaveLength(40_000);
    expect(toolbox.listTools().at(-1)?.name).toBe('tool39999');
    const result = await toolbox.callTool('hostile', {});
    expect(result.text).toBe('ok');
  }, 20_000);
});

describe('a tool whose schema is too big', () => {
  it('is left out with a warn line; the others stay', async () => {
    const server = await startHostileMcpServer({ tools: 2, oversizedToolChars: 100_000 });
    servers.push(server);
    const logger = warnings();
    const toolbox = await McpToolbox.connect([{ url: server.url }], { logger });
    toolboxes.push(toolbox);
    expect(toolbox.listTools().map((tool) => tool.name)).toEqual(['hostile', 'tool1']);
    expect(logger.lines[0]?.meta).toMatchObject({ droppedOversized: 1, maxToolSchemaChars: 65_536 });
  });

  it('fits when the host raises maxToolSchemaChars', async () => {
    const server = await startHostileMcpServer({ tools: 1, oversizedToolChars: 100_000 });
    servers.push(server);
    const toolbox = await McpToolbox.connect([{ url: server.url }], { maxToolSchemaChars: 200_000 });
    toolboxes.push(toolbox);
    expect(toolbox.listTools().map((tool) => tool.name)).toEqual(['hostile', 'oversized']);
  });
});

describe('images from tools', () => {
  it('a 21 MB image is not kept: it is replaced by a short note', () => {
    // 4 base64 characters per 3 bytes; a PNG signature first, as only real images are kept.
    const data = `iVBORw0KGgoA${'A'.repeat(28_000_000 - 12)}`;
    const result = toToolResult({
      content: [
        { type: 'text', text: 'here' },
        { type: 'image', data, mimeType: 'image/png' },
      ],
    });
    expect(result.images).toBeUndefined();
    expect(result.text).toBe(
      `here\n[image: image/png, 21000000 bytes, left out: over the ${DEFAULT_MAX_IMAGE_BYTES}-byte image limit]`,
    );
    expect(result.text.length).toBeLessThan(200);
  });

  it('images are kept while they fit in the budget together, in order', () => {
    // 12 base64 characters with one '=' of padding are 8 bytes, each starting as its type does.
    const png = 'iVBORw0KGgo=';
    const gif = 'R0lGODlhAQA=';
    const jpeg = '/9j/4AAQSkY=';
    const result = toToolResult(
      {
        content: [
          { type: 'image', data: png, mimeType: 'image/png' },
          { type: 'image', data: gif, mimeType: 'image/gif' },
          { type: 'image', data: jpeg, mimeType: 'image/jpeg' },
        ],
        structuredContent: { ok: true },
      },
      { maxImageBytes: 16 },
    );
    expect(result.images?.map((image) => image.mimeType)).toEqual(['image/png', 'image/gif']);
    expect(result.text.split('\n')).toEqual([
      '{"ok":true}',
      '[image: image/png, 8 bytes]',
      '[image: image/gif, 8 bytes]',
      '[image: image/jpeg, 8 bytes, left out: over the 16-byte image limit]',
    ]);
  });

  it('the toolbox applies maxImageBytes to real tool results', async () => {
    const server = await startTestMcpHttpServer();
    servers.push(server);
    const toolbox = await McpToolbox.connect([{ url: server.url }], { maxImageBytes: 10 });
    toolboxes.push(toolbox);
    const result = await toolbox.callTool('image', {});
    expect(result.images).toBeUndefined();
    expect(result.text).toMatch(/\[image: image\/png, \d+ bytes, left out: over the 10-byte image limit\]/);
  });
});

describe('limit options', () => {
  for (const [name, value] of [
    ['maxMessageBytes', 0],
    ['maxToolsPerServer', -1],
    ['maxToolSchemaChars', 1.5],
    ['maxImageBytes', Number.NaN],
  ] as const) {
    it(`${name}: ${value} is CONFIG_INVALID before anything is contacted`, async () => {
      const error = await McpToolbox.connect([{ url: 'http://127.0.0.1:9/mcp' }], { [name]: value }).catch((e) => e);
      expect(error).toMatchObject({ code: 'CONFIG_INVALID' });
      expect(String(error.message)).toContain(name);
    });
  }
});
