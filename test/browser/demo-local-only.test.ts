import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLocalRequest } from '../../demo/local-only.js';
import { type RunningDemo, startDemo } from '../../demo/server.js';

// DNS rebinding: a site points its own name at 127.0.0.1, and its page (same-origin with itself)
// then calls the demo with `Host: its-name:port`. The demo must refuse those requests, or any
// site could spend the operator's API key and run the demo's tools.

const KEY = 'sk-operator-secret';
const USER = 'tab-local-only';

interface Reply {
  status: number;
  body: string;
}

function send(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<Reply> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent: false,
        headers: { ...headers, ...(payload ? { 'content-type': 'application/json' } : {}) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

describe('demo server: only pages on this machine', () => {
  let demo: RunningDemo;
  let upstream: Server;
  let port = 0;
  const upstreamAuthorizations: string[] = [];

  beforeAll(async () => {
    // The operator's model provider: records the key each call brings.
    upstream = createServer((req, res) => {
      upstreamAuthorizations.push(String(req.headers.authorization));
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":{"message":"nope"}}');
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const upstreamPort = (upstream.address() as AddressInfo).port;
    demo = await startDemo({
      port: 0,
      env: { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: `http://127.0.0.1:${upstreamPort}/v1` },
    });
    port = Number(new URL(demo.url).port);
  });

  afterAll(async () => {
    await demo?.close();
    await new Promise((resolve) => upstream?.close(resolve));
  });

  const connect = { llm: { model: 'gpt-4o-mini' } };

  it('refuses a page that reaches it through DNS rebinding: 403, and the API key stays home', async () => {
    const evil = {
      host: `rebind.evil.example:${port}`,
      origin: `http://rebind.evil.example:${port}`,
      'x-demo-user': USER,
    };
    expect((await send(port, 'GET', '/', evil)).status).toBe(403);
    expect((await send(port, 'GET', '/demo/info', evil)).status).toBe(403);
    expect((await send(port, 'GET', '/llmchat/gateway/models', evil)).status).toBe(403);
    const refused = await send(port, 'POST', '/llmchat/connect', evil, connect);
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body)).toMatchObject({ code: 'FORBIDDEN' });
    expect((await send(port, 'POST', '/llmchat/chat', evil, { message: 'hi', streaming: false })).status).toBe(403);
    // A loopback name on another port is another site too.
    expect((await send(port, 'GET', '/', { host: `localhost:${port + 1}` })).status).toBe(403);
    expect(upstreamAuthorizations).toEqual([]);
  });

  it('refuses a POST from another origin, even to the right host', async () => {
    for (const origin of ['http://evil.example', `http://localhost:${port + 1}`, 'null']) {
      const headers = { host: `127.0.0.1:${port}`, origin, 'x-demo-user': USER };
      expect((await send(port, 'POST', '/llmchat/connect', headers, connect)).status, origin).toBe(403);
    }
    expect(upstreamAuthorizations).toEqual([]);
  });

  it('serves localhost, 127.0.0.1 and [::1] with their port', async () => {
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, `LOCALHOST:${port}`]) {
      const page = await send(port, 'GET', '/', { host });
      expect(page.status, host).toBe(200);
      expect(page.body).toContain('<!doctype html>');
    }
    const headers = { host: `localhost:${port}`, origin: `http://localhost:${port}`, 'x-demo-user': USER };
    expect((await send(port, 'POST', '/llmchat/connect', headers, connect)).status).toBe(200);
    await send(port, 'POST', '/llmchat/chat', headers, { message: 'hi', streaming: false });
    // The same request from the page itself does reach the model with the key: the 403s above
    // are what kept it home.
    expect(upstreamAuthorizations).toContain(`Bearer ${KEY}`);
  });

  it('isLocalRequest: the rule itself', () => {
    const at = (host: string, method = 'GET', origin?: string) => isLocalRequest({ method, host, origin }, 3000);
    expect(at('localhost:3000')).toBe(true);
    expect(at('[::1]:3000')).toBe(true);
    expect(at('localhost')).toBe(false);
    expect(at('127.0.0.1.nip.io:3000')).toBe(false);
    expect(at('localhost:3000', 'GET', 'http://evil.example')).toBe(true); // reading is same-origin-protected
    expect(at('localhost:3000', 'POST')).toBe(true); // curl and the like send no Origin
    expect(at('localhost:3000', 'POST', 'http://127.0.0.1:3000')).toBe(true);
    expect(at('localhost:3000', 'POST', 'https://localhost:3000')).toBe(false);
    expect(at('localhost:3000', 'DELETE', 'http://evil.example')).toBe(false);
    expect(isLocalRequest({ host: 'localhost' }, 80)).toBe(true);
    expect(isLocalRequest({ host: '[fe80::1]:3000' }, 3000, ['fe80::1'])).toBe(true);
    expect(isLocalRequest({ host: 'demo.lan:3000' }, 3000, ['demo.lan'])).toBe(true);
    expect(isLocalRequest({ host: undefined }, 3000)).toBe(false);
  });
});
