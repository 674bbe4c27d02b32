import { afterEach, describe, expect, it } from 'vitest';
import { isLlmChatError } from '../../src/errors.js';
import { createChatHandler } from '../../src/http/create-chat-handler.js';
import { McpToolbox } from '../../src/mcp/mcp-toolbox.js';
import type { Logger } from '../../src/types.js';
import { type HostileMcpServer, startHostileMcpServer } from '../fixtures/hostile-mcp-server.js';
import { bearerUser, jsonRequest } from '../http/stack.js';

// Class 7 of issue 10: what an MCP server echoes back never carries our secrets into logs or
// errors, and a legacy-SSE server cannot send our POSTs (and their Authorization header)
// somewhere the host did not allow.

const TOKEN = 'mcp-secret-ECHO-31337-abcdef';
const HEADER_SECRET = 'x-api-key-ECHO-99887766';

const servers: HostileMcpServer[] = [];
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function hostile(options: Parameters<typeof startHostileMcpServer>[0]) {
  const server = await startHostileMcpServer(options);
  servers.push(server);
  return server;
}

/** A logger that keeps every call, at every level. */
function spyLogger(): Logger & { lines: unknown[] } {
  const lines: unknown[] = [];
  const record = (level: string) => (message: string, meta?: Record<string, unknown>) => {
    lines.push({ level, message, meta });
  };
  return { lines, debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') };
}

/** Every message along an error's `cause` chain. */
function causeChain(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 10; depth += 1) {
    parts.push(current instanceof Error ? `${current.name}: ${current.message}` : String(current));
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(' <- ');
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('an MCP server that echoes our credentials', () => {
  for (const status of [401, 500]) {
    it(`a ${status} to initialize: the token is in no log line and no error`, async () => {
      const server = await hostile({ refuseInitialize: status });
      const logger = spyLogger();
      const error = await rejection(
        McpToolbox.connect([{ url: server.url, authToken: TOKEN, headers: { 'X-Api-Key': HEADER_SECRET } }], {
          logger,
        }),
      );
      expect(isLlmChatError(error) && error.code).toBe('MCP_UNAVAILABLE');
      // The server did see (and echo) the token: the test would catch a leak.
      expect(server.requests.some((request) => request.authorization === `Bearer ${TOKEN}`)).toBe(true);
      expect(logger.lines.length).toBeGreaterThan(0);
      const logged = JSON.stringify(logger.lines);
      expect(logged).not.toContain(TOKEN);
      expect(logged).not.toContain(HEADER_SECRET);
      const chain = causeChain(error);
      expect(chain).not.toContain(TOKEN);
      expect(chain).toContain('*****');
    });
  }

  it('a token with a line break, which the HTTP client refuses and quotes: in no log line and no error', async () => {
    const server = await hostile({ behaviour: 'echo-500' });
    const logger = spyLogger();
    const error = await rejection(
      McpToolbox.connect([{ url: server.url, authToken: `${TOKEN}\r\nX-Injected: 1` }], { logger }),
    );
    expect(isLlmChatError(error) && error.code).toBe('MCP_UNAVAILABLE');
    expect(server.requests).toHaveLength(0);
    expect(logger.lines.length).toBeGreaterThan(0);
    expect(JSON.stringify(logger.lines)).not.toContain(TOKEN);
    const chain = causeChain(error);
    expect(chain).not.toContain(TOKEN);
    expect(chain).toContain('*****');
  });

  it('a 500 to tools/call that echoes the token: not in the logs, not in the error', async () => {
    const server = await hostile({ behaviour: 'echo-500' });
    const logger = spyLogger();
    const toolbox = await McpToolbox.connect([{ url: server.url, authToken: TOKEN }], { logger });
    cleanups.push(() => toolbox.close());
    const error = await rejection(toolbox.callTool('hostile', {}));
    expect(isLlmChatError(error) && error.code).toBe('TOOL_ERROR');
    expect(server.exchanges).toHaveLength(1);
    expect(JSON.stringify(logger.lines)).not.toContain(TOKEN);
    expect(causeChain(error)).not.toContain(TOKEN);
    expect(causeChain(error)).toContain('*****');
  });
});

describe('a legacy-SSE server that names an endpoint elsewhere', () => {
  it('outside the allowed path: refused, nothing is POSTed there, no Authorization leaves', async () => {
    const server = await hostile({ legacyEndpoint: '/admin/messages' });
    const allowed = [`${server.origin}/sse`, `${server.origin}/messages`];
    const error = await rejection(
      McpToolbox.connect([{ url: server.sseUrl, transport: 'sse', authToken: TOKEN }], {
        isUrlAllowed: (url) => allowed.some((prefix) => url === prefix || url.startsWith(`${prefix}?`)),
      }),
    );
    expect(isLlmChatError(error) && error.code).toBe('SERVER_NOT_ALLOWED');
    expect(server.requests.filter((request) => request.method === 'POST')).toEqual([]);
    expect(server.requests.filter((request) => request.path !== '/sse')).toEqual([]);
  });

  it('on another origin: refused, the other server gets no request at all', async () => {
    const recorder = await hostile({});
    const server = await hostile({ legacyEndpoint: `${recorder.origin}/messages` });
    const error = await rejection(McpToolbox.connect([{ url: server.sseUrl, transport: 'sse', authToken: TOKEN }]));
    expect(isLlmChatError(error) && error.code).toBe('MCP_UNAVAILABLE');
    expect(recorder.requests).toEqual([]);
    expect(server.requests.filter((request) => request.method === 'POST')).toEqual([]);
  });

  it('through the handler: /connect to an allowed legacy server whose endpoint is not allowed is 400 SERVER_NOT_ALLOWED', async () => {
    const server = await hostile({ legacyEndpoint: '/admin/messages' });
    const handler = createChatHandler({
      authenticate: bearerUser,
      models: [{ id: 'fake', provider: 'openai_compatible', baseUrl: 'http://127.0.0.1:9/v1' }],
      mcp: { allowedUrls: [`${server.origin}/sse`, `${server.origin}/messages`] },
    });
    cleanups.push(() => handler.close());
    const response = await handler.fetch(
      jsonRequest('/connect', 'ann', {
        server: { url: server.sseUrl, transport: 'sse', auth_token: TOKEN },
        llm: { model: 'fake' },
      }),
    );
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: 'SERVER_NOT_ALLOWED' });
    expect(server.requests.filter((request) => request.method === 'POST')).toEqual([]);
  });

  it("through the handler: the host's default legacy server may name an endpoint on its own origin", async () => {
    const server = await hostile({ legacyEndpoint: '/messages' });
    const handler = createChatHandler({
      authenticate: bearerUser,
      models: [{ id: 'fake', provider: 'openai_compatible', baseUrl: 'http://127.0.0.1:9/v1' }],
      mcp: { defaultServer: { url: server.sseUrl, transport: 'sse', authToken: TOKEN } },
    });
    cleanups.push(() => handler.close());
    const response = await handler.fetch(jsonRequest('/connect', 'ann', { llm: { model: 'fake' } }));
    expect(response.status, await response.clone().text()).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'connected', tools: ['hostile'] });
  });
});
