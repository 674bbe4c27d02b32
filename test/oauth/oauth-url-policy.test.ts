/**
 * Where OAuth requests may go: the URLs of an OAuth flow (resource and authorization server
 * metadata, registration and token endpoints) come from the MCP server and the authorization
 * server it names, so they get the host's MCP server policy, not a free pass to the host's
 * internal network.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createChatHandler } from '../../src/http/create-chat-handler.js';
import { normalizeAllowedUrl } from '../../src/http/server-url-policy.js';
import { networkClassOf } from '../../src/internal/network-class.js';
import { isOAuthUrlAllowed } from '../../src/oauth/oauth-url-policy.js';
import { memoryStorage } from '../../src/storage.js';
import type { FetchLike } from '../../src/types.js';
import { bearerUser, jsonRequest } from '../http/stack.js';

const SERVER = 'https://mcp.example/mcp';
const RESOURCE_METADATA = 'https://mcp.example/.well-known/oauth-protected-resource/mcp';
const CALLBACK = 'http://local/oauth/callback';

describe('networkClassOf', () => {
  it.each([
    ['localhost', 'loopback'],
    ['app.localhost', 'loopback'],
    ['127.0.0.1', 'loopback'],
    ['127.9.9.9', 'loopback'],
    ['[::1]', 'loopback'],
    [new URL('http://[::ffff:127.0.0.1]/').hostname, 'loopback'],
    [new URL('http://2130706433/').hostname, 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['[fd00::1]', 'private'],
    ['169.254.169.254', 'link-local'],
    ['[fe80::1]', 'link-local'],
    ['0.0.0.0', 'reserved'],
    ['[::]', 'reserved'],
    ['255.255.255.255', 'reserved'],
    ['172.32.0.1', 'public'],
    ['8.8.8.8', 'public'],
    ['[2001:db8::1]', 'public'],
    ['auth.example', 'public'],
  ])('%s is %s', (hostname, expected) => {
    expect(networkClassOf(hostname)).toBe(expected);
  });
});

describe('isOAuthUrlAllowed', () => {
  const allowed = (url: string, server = SERVER, list: string[] = [server]) =>
    isOAuthUrlAllowed(url, server, list.map(normalizeAllowedUrl));

  it('allows https on public hosts and anything on the MCP server’s own origin', () => {
    expect(allowed('https://auth.example/token')).toBe(true);
    expect(allowed('https://8.8.8.8/.well-known/oauth-authorization-server')).toBe(true);
    expect(allowed(RESOURCE_METADATA)).toBe(true);
    expect(allowed('http://mcp.example:80/.well-known/oauth-protected-resource', 'http://mcp.example/mcp')).toBe(true);
  });

  it('refuses plain http to another origin, private networks and credentials, for a public server', () => {
    for (const url of [
      'http://auth.example/token',
      'https://127.0.0.1/token',
      'https://localhost:8443/register',
      'https://10.0.0.5/token',
      'https://169.254.169.254/latest/meta-data/',
      'https://[::ffff:127.0.0.1]/token',
      'https://[fd00::1]/token',
      'https://user:pass@auth.example/token',
      'file:///etc/passwd',
      'not a url',
    ]) {
      expect(allowed(url), url).toBe(false);
    }
  });

  it('lets a server on a non-public network use that same kind of network, over its own scheme', () => {
    const loopback = 'http://127.0.0.1:3000/mcp';
    expect(allowed('http://localhost:9000/token', loopback)).toBe(true);
    expect(allowed('http://10.0.0.5/token', loopback)).toBe(false);
    expect(allowed('http://169.254.169.254/', loopback)).toBe(false);
    const intranet = 'https://10.0.0.4/mcp';
    expect(allowed('https://10.0.0.5/token', intranet)).toBe(true);
    expect(allowed('http://10.0.0.5/token', intranet)).toBe(false);
    expect(allowed('https://127.0.0.1/token', intranet)).toBe(false);
  });

  it('allows what the host allow-listed for MCP servers (its opt-in), even plain http on a private address', () => {
    expect(allowed('http://10.0.0.5/oauth/token', SERVER, [SERVER, 'http://10.0.0.5/oauth/'])).toBe(true);
    expect(allowed('http://10.0.0.5/other', SERVER, [SERVER, 'http://10.0.0.5/oauth/'])).toBe(false);
  });
});

describe('OAuth requests through the handler', () => {
  let handler: ReturnType<typeof createChatHandler> | undefined;
  afterEach(async () => {
    await handler?.close();
    handler = undefined;
  });

  /**
   * An MCP server at a public name that wants OAuth, its resource metadata naming
   * `authorizationServer`, whose metadata (served wherever it is asked for) names its endpoints
   * on `endpointsOrigin`. Records every request the handler makes.
   */
  function network(authorizationServer: string, endpointsOrigin = new URL(authorizationServer).origin) {
    const seen: string[] = [];
    const json = (body: unknown, status = 200) =>
      new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
    const fetch: FetchLike = async (input, init) => {
      const url = new URL(typeof input === 'string' ? input : input.href);
      seen.push(`${init?.method ?? 'GET'} ${url.href}`);
      if (url.href === SERVER) {
        const challenge = `Bearer resource_metadata="${RESOURCE_METADATA}"`;
        return new Response(null, { status: 401, headers: { 'www-authenticate': challenge } });
      }
      if (url.href === RESOURCE_METADATA)
        return json({ resource: SERVER, authorization_servers: [authorizationServer] });
      if (url.pathname.startsWith('/.well-known/oauth-authorization-server')) {
        return json({
          issuer: url.origin,
          authorization_endpoint: `${url.origin}/authorize`,
          token_endpoint: `${endpointsOrigin}/token`,
          registration_endpoint: `${endpointsOrigin}/register`,
          response_types_supported: ['code'],
          code_challenge_methods_supported: ['S256'],
        });
      }
      if (url.pathname === '/register') return json({ client_id: 'client-1', redirect_uris: [CALLBACK] }, 201);
      return new Response('not found', { status: 404 });
    };
    return { seen, fetch };
  }

  async function connect(fetch: FetchLike, allowedUrls: string[] = [SERVER]) {
    handler = createChatHandler({
      authenticate: bearerUser,
      models: [{ id: 'fake', provider: 'openai_compatible', baseUrl: 'http://127.0.0.1:9/v1', apiKey: 'sk-fake' }],
      mcp: { allowedUrls },
      storage: memoryStorage(),
      sealKey: 'test-seal-key',
      keepAliveMs: 0,
      fetch,
      oauth: { redirectUrl: CALLBACK },
    });
    const response = await handler.fetch(
      jsonRequest('/connect', 'ann', { server: { url: SERVER }, llm: { model: 'fake' } }),
    );
    return { status: response.status, body: (await response.json()) as { code?: string; detail?: string } };
  }

  it.each([
    'http://127.0.0.1:8080/',
    'https://localhost/',
    'https://10.0.0.5/',
    'https://169.254.169.254/',
    'https://[::ffff:127.0.0.1]/',
    'http://auth.example/',
  ])('refuses an authorization server at %s named by a public MCP server', async (authorizationServer) => {
    const { seen, fetch } = network(authorizationServer);
    const { status, body } = await connect(fetch);
    expect(body.code).toBe('SERVER_NOT_ALLOWED');
    expect(status).toBe(400);
    expect(body.detail).not.toContain(new URL(authorizationServer).host);
    const origin = new URL(authorizationServer).origin;
    expect(seen.filter((line) => line.includes(origin))).toEqual([]);
  });

  it('refuses a registration endpoint on the loopback named by a public authorization server', async () => {
    const { seen, fetch } = network('https://auth.example/', 'https://127.0.0.1');
    const { status, body } = await connect(fetch);
    expect([status, body.code]).toEqual([400, 'SERVER_NOT_ALLOWED']);
    expect(seen).toContain('GET https://auth.example/.well-known/oauth-authorization-server');
    expect(seen.filter((line) => line.includes('127.0.0.1'))).toEqual([]);
  });

  it('runs the flow with a public https authorization server', async () => {
    const { seen, fetch } = network('https://auth.example/');
    const { status, body } = await connect(fetch);
    expect([status, body.code]).toEqual([403, 'MCP_AUTHORIZATION_REQUIRED']);
    expect(seen).toContain('POST https://auth.example/register');
  });

  it('runs the flow with a private authorization server the host allow-listed', async () => {
    const { seen, fetch } = network('http://10.0.0.5/');
    const { status, body } = await connect(fetch, [SERVER, 'http://10.0.0.5/']);
    expect([status, body.code]).toEqual([403, 'MCP_AUTHORIZATION_REQUIRED']);
    expect(seen).toContain('POST http://10.0.0.5/register');
  });
});
