import { createServer, type RequestListener, type Server } from 'node:http';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { requestOverUndici } from '../../src/mcp/exchange-request.js';
import { McpToolbox } from '../../src/mcp/mcp-toolbox.js';
import { startTestMcpHttpServer, type TestMcpHttpServer } from '../fixtures/test-mcp-server.js';
import { jsonRequest, startStack } from '../http/stack.js';

/** A plain HTTP server on 127.0.0.1 that answers with `listener`; closed after the suite. */
async function listen(listener: RequestListener): Promise<{ url: string; server: Server }> {
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`, server };
}

async function readAll(body: { getReader(): { read(): Promise<ReadableStreamReadResult<Uint8Array>> } }) {
  const reader = body.getReader();
  let text = '';
  for (;;) {
    const step = await reader.read();
    if (step.done) return text;
    text += Buffer.from(step.value).toString();
  }
}

describe('requestOverUndici (the MCP exchanges without a host fetch)', () => {
  const servers: Server[] = [];
  let seen: Array<{ method: string | undefined; headers: Record<string, unknown>; body: string }> = [];
  let url = '';

  beforeAll(async () => {
    const echo = await listen((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on('end', () => {
        seen.push({ method: req.method, headers: req.headers, body });
        if (req.url?.endsWith('/moved')) {
          res.writeHead(307, { location: '/mcp' }).end();
          return;
        }
        if (req.url?.endsWith('/odd-status')) {
          res.writeHead(600).end();
          return;
        }
        if (req.url?.endsWith('/teapot')) {
          res.writeHead(418, 'Short and stout', { 'content-type': 'text/plain' }).end('no coffee');
          return;
        }
        if (req.method === 'DELETE') {
          res.writeHead(204).end();
          return;
        }
        res.writeHead(200, [
          'content-type',
          'application/json',
          'mcp-session-id',
          'session-7',
          'set-cookie',
          'a=1',
          'set-cookie',
          'b=2',
        ]);
        res.end('{"jsonrpc":"2.0","id":1,"result":{}}');
      });
    });
    servers.push(echo.server);
    url = echo.url;
  });

  afterEach(() => {
    seen = [];
  });

  afterAll(async () => {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  });

  it('sends the method, headers in any form and the JSON body, and reads status, headers and body', async () => {
    const headers = new Headers({ 'content-type': 'application/json', accept: 'application/json, text/event-stream' });
    headers.set('mcp-protocol-version', '2025-06-18');
    const answer = await requestOverUndici(new URL(url), {
      method: 'POST',
      headers,
      body: '{"jsonrpc":"2.0","id":1,"method":"ping"}',
      signal: new AbortController().signal,
    });
    expect(answer.status).toBe(200);
    expect(answer.ok).toBe(true);
    expect(answer.statusText).toBe('OK');
    expect(answer.headers.get('MCP-Session-Id')).toBe('session-7');
    const listed: string[] = [];
    answer.headers.forEach((value, name) => {
      listed.push(`${name}: ${value}`);
    });
    // A repeated header is listed once per value, as a web Headers lists set-cookie.
    expect(listed).toEqual(expect.arrayContaining(['set-cookie: a=1', 'set-cookie: b=2']));
    expect(await readAll(answer.body as NonNullable<typeof answer.body>)).toBe('{"jsonrpc":"2.0","id":1,"result":{}}');
    expect(seen[0]).toMatchObject({
      method: 'POST',
      body: '{"jsonrpc":"2.0","id":1,"method":"ping"}',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2025-06-18',
      },
    });

    await requestOverUndici(new URL(url), { method: 'DELETE', headers: [['X-Thing', 'one']] });
    await requestOverUndici(new URL(url), { headers: { 'X-Other': 'two' } });
    expect(
      seen.slice(1).map((request) => [request.method, request.headers['x-thing'] ?? request.headers['x-other']]),
    ).toEqual([
      ['DELETE', 'one'],
      ['GET', 'two'],
    ]);
  });

  it('keeps the status line of an error answer', async () => {
    const answer = await requestOverUndici(new URL(`${url}/teapot`), { method: 'POST', body: '{}' });
    expect([answer.status, answer.ok, answer.statusText]).toEqual([418, false, 'Short and stout']);
    expect(await readAll(answer.body as NonNullable<typeof answer.body>)).toBe('no coffee');
  });

  it('rejects when aborted, and when nothing answers', async () => {
    const controller = new AbortController();
    controller.abort(new Error('gone'));
    await expect(
      requestOverUndici(new URL(url), { method: 'POST', body: '{}', signal: controller.signal }),
    ).rejects.toThrow('gone');
    const closed = await listen(() => undefined);
    await new Promise((resolve) => closed.server.close(resolve));
    // A network error fails as fetch fails, so the MCP error classes still read it as a lost server.
    const refused = requestOverUndici(new URL(closed.url), { method: 'POST', body: '{}' });
    await expect(refused).rejects.toMatchObject({ name: 'TypeError', message: 'fetch failed' });
    await expect(refused).rejects.toHaveProperty('cause.code', 'ECONNREFUSED');
  });

  it('refuses a redirect, even to its own origin, and a status past 599, as fetch with redirect: error does', async () => {
    const moved = requestOverUndici(new URL(`${url}/moved`), { method: 'POST', body: '{}' });
    await expect(moved).rejects.toMatchObject({ name: 'TypeError', message: 'fetch failed' });
    await expect(moved).rejects.toHaveProperty('cause.message', 'unexpected redirect');
    const odd = requestOverUndici(new URL(`${url}/odd-status`), { method: 'POST', body: '{}' });
    await expect(odd).rejects.toHaveProperty('cause.message', 'invalid HTTP status 600');
    // The redirect was not followed: only the two requests above reached the server.
    expect(seen.map((request) => request.method)).toEqual(['POST', 'POST']);
  });

  it('drops a reason phrase a web Response would refuse', async () => {
    const raw = createNetServer((socket) => {
      socket.once('data', () =>
        socket.end('HTTP/1.1 200 \u2713 fine\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok'),
      );
    });
    await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
    try {
      const port = (raw.address() as AddressInfo).port;
      const answer = await requestOverUndici(new URL(`http://127.0.0.1:${port}/mcp`), { method: 'POST', body: '{}' });
      expect([answer.status, answer.statusText]).toEqual([200, '']);
      expect(() => new Response(null, { status: answer.status, statusText: answer.statusText })).not.toThrow();
      expect(await readAll(answer.body as NonNullable<typeof answer.body>)).toBe('ok');
    } finally {
      await new Promise((resolve) => raw.close(resolve));
    }
  });

  it('sends a body that is not a string over the global fetch, with redirects refused', async () => {
    const spy = vi.spyOn(globalThis, 'fetch');
    try {
      const answer = await requestOverUndici(new URL(url), { method: 'POST', body: new Uint8Array([123, 125]) });
      expect(answer.status).toBe(200);
      expect(spy).toHaveBeenCalledTimes(1);
      expect(spy.mock.calls[0]?.[1]).toMatchObject({ redirect: 'error' });
      expect(seen[0]?.body).toBe('{}');
    } finally {
      spy.mockRestore();
    }
  });
});

describe('MCP connections without a host fetch', () => {
  let mcp: TestMcpHttpServer;
  let trapHits = 0;
  let redirects = 0;
  let trapUrl = '';
  let redirectorUrl = '';
  const servers: Server[] = [];

  beforeAll(async () => {
    mcp = await startTestMcpHttpServer();
    const trap = await listen((_req, res) => {
      trapHits += 1;
      res.end('trapped');
    });
    trapUrl = trap.url;
    const redirector = await listen((_req, res) => {
      redirects += 1;
      res.writeHead(307, { location: trapUrl }).end();
    });
    redirectorUrl = redirector.url;
    servers.push(trap.server, redirector.server);
  });

  afterAll(async () => {
    await mcp.close();
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  });

  it('connect, list and call a tool without the global fetch', async () => {
    const spy = vi.spyOn(globalThis, 'fetch');
    try {
      const toolbox = await McpToolbox.connect([{ url: mcp.url }]);
      try {
        expect(toolbox.listTools().map((tool) => tool.name)).toContain('add');
        const result = await toolbox.callTool('add', { a: 2, b: 3 });
        expect(result.text).toBe('5');
      } finally {
        await toolbox.close();
      }
      expect(spy).not.toHaveBeenCalled();
      expect(mcp.sessionCount).toBe(0);
    } finally {
      spy.mockRestore();
    }
  });

  it('a redirect is refused, not followed: the connect fails and the target is never asked', async () => {
    const before = redirects;
    await expect(McpToolbox.connect([{ url: redirectorUrl }])).rejects.toMatchObject({ code: 'MCP_UNAVAILABLE' });
    expect(redirects).toBeGreaterThan(before);
    expect(trapHits).toBe(0);
  });

  it('through the handler, a connect to an allowed server that redirects fails the same way', async () => {
    const stack = await startStack({ mcp: { allowedUrls: [redirectorUrl] } });
    const before = redirects;
    try {
      const response = await stack.handler.fetch(
        jsonRequest('/connect', 'redirected', { llm: { model: 'fake' }, server: { url: redirectorUrl } }),
      );
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(redirects).toBeGreaterThan(before);
      expect(trapHits).toBe(0);
    } finally {
      await stack.close();
    }
  });
});
