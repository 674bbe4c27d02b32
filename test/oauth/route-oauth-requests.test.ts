/**
 * Which of an OAuth-enabled transport's requests skip the MCP exchanges' allow-list and limits:
 * only the OAuth requests the flow expects, never an MCP message, whatever its headers.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { OAuthDiscoveryState } from '@modelcontextprotocol/sdk/client/auth.js';
import { afterEach, describe, expect, it } from 'vitest';
import { createChatHandler } from '../../src/http/create-chat-handler.js';
import { routeOAuthRequests } from '../../src/oauth/route-oauth-requests.js';
import { memoryStorage } from '../../src/storage.js';
import type { FetchLike } from '../../src/types.js';
import { bearerUser, jsonRequest } from '../http/stack.js';
import { AUTH, DISCOVERY, SERVER } from './example-discovery.js';

function router(discovery?: OAuthDiscoveryState, answers: Record<string, () => Response> = {}) {
  const routed: string[] = [];
  const side =
    (name: string): FetchLike =>
    async (input, init) => {
      const url = typeof input === 'string' ? input : input.href;
      routed.push(`${name} ${init?.method ?? 'GET'} ${url}`);
      return answers[url]?.() ?? new Response('{}', { status: 200 });
    };
  const fetch = routeOAuthRequests(side('mcp'), side('oauth'), SERVER, () => discovery);
  return { routed, fetch };
}

const post = (headers: Record<string, string> = {}) => ({ method: 'POST', body: '{}', headers });

describe('routeOAuthRequests', () => {
  it('sends the server’s own URL and a message endpoint it names through the MCP fetch, whatever the headers', async () => {
    const { routed, fetch } = router(DISCOVERY);
    await fetch(SERVER, post({ accept: 'application/json, text/event-stream' }));
    await fetch('https://mcp.example/admin/do?sessionId=1', post({ 'content-type': 'application/json' }));
    await fetch('https://mcp.example/admin/do', { method: 'GET' });
    expect(routed).toEqual([
      `mcp POST ${SERVER}`,
      'mcp POST https://mcp.example/admin/do?sessionId=1',
      'mcp GET https://mcp.example/admin/do',
    ]);
  });

  it('sends the well-known resource metadata, and the one a challenge names, to the OAuth fetch', async () => {
    const named = 'https://mcp.example/custom/metadata.json';
    const challenge = () =>
      new Response(null, { status: 401, headers: { 'www-authenticate': `Bearer resource_metadata="${named}"` } });
    const { routed, fetch } = router(undefined, { [SERVER]: challenge });
    await fetch('https://mcp.example/.well-known/oauth-protected-resource/mcp');
    await fetch('https://mcp.example/.well-known/oauth-protected-resource');
    await fetch(named);
    await fetch(SERVER, post());
    await fetch(named);
    expect(routed).toEqual([
      'oauth GET https://mcp.example/.well-known/oauth-protected-resource/mcp',
      'oauth GET https://mcp.example/.well-known/oauth-protected-resource',
      `mcp GET ${named}`,
      `mcp POST ${SERVER}`,
      `oauth GET ${named}`,
    ]);
  });

  it('sends the metadata of the authorization server the resource metadata names to the OAuth fetch', async () => {
    const metadata = 'https://auth.example/.well-known/oauth-authorization-server';
    const resource = 'https://mcp.example/.well-known/oauth-protected-resource/mcp';
    const { routed, fetch } = router(undefined, {
      [resource]: () => Response.json({ resource: SERVER, authorization_servers: [AUTH] }),
    });
    await fetch(metadata);
    const answer = await fetch(resource);
    // The SDK still reads the whole document.
    expect(await answer.json()).toMatchObject({ authorization_servers: [AUTH] });
    await fetch(metadata);
    await fetch(metadata, post());
    await fetch('https://mcp.example/.well-known/openid-configuration');
    expect(routed).toEqual([
      `mcp GET ${metadata}`,
      `oauth GET ${resource}`,
      `oauth GET ${metadata}`,
      `mcp POST ${metadata}`,
      // The legacy fallback: the MCP server's origin as its own authorization server.
      'oauth GET https://mcp.example/.well-known/openid-configuration',
    ]);
  });

  it('posts to the registration and token endpoints of the discovery in use through the OAuth fetch only', async () => {
    const { routed, fetch } = router(DISCOVERY);
    await fetch(`${AUTH}register`, post({ 'content-type': 'application/json' }));
    await fetch(`${AUTH}token`, post({ 'content-type': 'application/x-www-form-urlencoded' }));
    await fetch(`${AUTH}token`, post({ authorization: 'Bearer our-token' }));
    await fetch(`${AUTH}other`, post());
    const before = router(undefined);
    await before.fetch(`${AUTH}token`, post());
    expect([...routed, ...before.routed]).toEqual([
      `oauth POST ${AUTH}register`,
      `oauth POST ${AUTH}token`,
      `mcp POST ${AUTH}token`,
      `mcp POST ${AUTH}other`,
      `mcp POST ${AUTH}token`,
    ]);
  });
});

describe('the headers configured for the MCP server', () => {
  it("never go with the OAuth requests, which reach other parties; the flow's own headers do", async () => {
    const sent: Array<[string, Headers]> = [];
    const side =
      (name: string): FetchLike =>
      async (_input, init) => {
        sent.push([name, new Headers(init?.headers)]);
        return new Response('{}', { status: 200 });
      };
    const configured = { 'X-Api-Key': 'key-for-the-mcp-server', 'X-Tenant': 'acme' };
    const fetch = routeOAuthRequests(side('mcp'), side('oauth'), SERVER, () => DISCOVERY, configured);
    // What the SDK sends: the transport's configured headers on every request, its own on top.
    const withConfigured = (own: Record<string, string>) => ({
      method: 'POST',
      body: 'grant_type=authorization_code',
      headers: { 'x-api-key': 'key-for-the-mcp-server', 'x-tenant': 'acme', ...own },
    });
    await fetch(`${AUTH}token`, withConfigured({ authorization: 'Basic Y2xpZW50OnNlY3JldA==' }));
    await fetch(SERVER, withConfigured({ accept: 'application/json, text/event-stream' }));
    const [oauth, mcp] = sent;
    expect(oauth?.[0]).toBe('oauth');
    expect(oauth?.[1].get('x-api-key')).toBeNull();
    expect(oauth?.[1].get('x-tenant')).toBeNull();
    expect(oauth?.[1].get('authorization')).toBe('Basic Y2xpZW50OnNlY3JldA==');
    expect(mcp?.[0]).toBe('mcp');
    expect(mcp?.[1].get('x-api-key')).toBe('key-for-the-mcp-server');
  });
});

describe('a legacy-SSE server with OAuth on', () => {
  let server: http.Server | undefined;
  let handler: ReturnType<typeof createChatHandler> | undefined;
  afterEach(async () => {
    await handler?.close();
    server?.closeAllConnections();
    server?.close();
  });

  it('cannot have our messages posted to an endpoint outside the allow-list', async () => {
    const hits: string[] = [];
    server = http.createServer((request, response) => {
      hits.push(`${request.method} ${request.url}`);
      if (request.method === 'GET' && request.url === '/sse') {
        response.writeHead(200, { 'content-type': 'text/event-stream' });
        // A server that needs no token names a message endpoint the host never allowed.
        response.write('event: endpoint\ndata: /admin/do?sessionId=1\n\n');
        return;
      }
      response.writeHead(202).end();
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sse`;
    handler = createChatHandler({
      authenticate: bearerUser,
      models: [{ id: 'fake', provider: 'openai_compatible', baseUrl: 'http://127.0.0.1:9/v1', apiKey: 'sk-fake' }],
      mcp: { allowedUrls: [url], connectTimeoutMs: 3000 },
      storage: memoryStorage(),
      sealKey: 'test-seal-key',
      keepAliveMs: 0,
      oauth: { redirectUrl: 'http://local/oauth/callback' },
    });
    const response = await handler.fetch(
      jsonRequest('/connect', 'ann', { server: { url, transport: 'sse' }, llm: { model: 'fake' } }),
    );
    expect(((await response.json()) as { code?: string }).code).toBe('SERVER_NOT_ALLOWED');
    expect(response.status).toBe(400);
    expect(hits).toEqual(['GET /sse']);
  });
});
