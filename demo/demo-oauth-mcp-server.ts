/**
 * An MCP server behind OAuth, with its own small authorization server, for the demo, the OAuth
 * example and the tests. Not for production: tokens live in memory and anyone may register.
 * One HTTP listener on 127.0.0.1 serves both:
 * - `/mcp`: the tools of the MCP server `createServer` builds (one per request: stateless
 *   Streamable HTTP), for requests with a live access token; otherwise 401 with
 *   `WWW-Authenticate: Bearer resource_metadata="…"`;
 * - `/.well-known/oauth-protected-resource/mcp` (RFC 9728) and
 *   `/.well-known/oauth-authorization-server` (RFC 8414);
 * - `/register` (RFC 7591), `/authorize` (PKCE S256 required; answers with a redirect at once,
 *   or with a consent page when `consent` is on), `/token` (`authorization_code` with the
 *   verifier checked and `resource` recorded, `refresh_token` with rotation: a refresh token
 *   works once, and presenting a used one revokes the whole family, as strict servers do).
 *
 * Counters tell tests what clients did: `registrations`, `authorizationRequests`,
 * `codeExchanges`, `refreshRequests`, `refreshReuses`, `resources` (the `resource` parameters seen).
 * `expireAccessTokens()` makes every issued access token answer 401 (an expiry);
 * `revokeRefreshTokens()` invalidates every refresh token (a revocation).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';

/** Options of {@link startOAuthMcpServer}. */
export interface OAuthMcpServerOptions {
  /** Builds the MCP server that answers one request (it is closed afterwards). */
  createServer: () => { connect(transport: Transport): Promise<void>; close(): Promise<void> };
  /** `/authorize` shows a page with an "Allow" button instead of redirecting at once. @default false */
  consent?: boolean;
  /** `expires_in` of access tokens, in seconds. @default 3600 */
  accessTokenSeconds?: number;
  /** Scopes the protected resource metadata lists. @default ['mcp'] */
  scopes?: string[];
  /** A confidential client allowed the `client_credentials` grant (Basic authentication). */
  machineClient?: { clientId: string; clientSecret: string };
  /** Issue refresh tokens with access tokens. @default true */
  refreshTokens?: boolean;
  /** Holds each token request this long, so concurrent clients surely overlap. @default 0 */
  tokenDelayMs?: number;
  /** Holds each registration this long, so concurrent clients surely overlap. @default 0 */
  registrationDelayMs?: number;
}

/** A running OAuth-protected MCP server. */
export interface OAuthMcpServer {
  /** `http://127.0.0.1:PORT/mcp` */
  readonly url: string;
  /** `http://127.0.0.1:PORT` (the issuer). */
  readonly origin: string;
  readonly counters: {
    registrations: number;
    authorizationRequests: number;
    codeExchanges: number;
    refreshRequests: number;
    refreshReuses: number;
    clientCredentialsGrants: number;
    unauthorizedMcpRequests: number;
    resources: string[];
  };
  /** Every access and refresh token issued so far, to check that none leaks. */
  readonly issued: readonly string[];
  /** Every access token issued so far answers 401 from now on. */
  expireAccessTokens(): void;
  /** Every refresh token issued so far is refused (`invalid_grant`) from now on. */
  revokeRefreshTokens(): void;
  close(): Promise<void>;
}

interface Grant {
  clientId: string;
  redirectUri: string;
  challenge: string;
  scope: string;
}

/** Starts the server on port 0. */
export async function startOAuthMcpServer(options: OAuthMcpServerOptions): Promise<OAuthMcpServer> {
  const scopes = options.scopes ?? ['mcp'];
  const counters = {
    registrations: 0,
    authorizationRequests: 0,
    codeExchanges: 0,
    refreshRequests: 0,
    refreshReuses: 0,
    clientCredentialsGrants: 0,
    unauthorizedMcpRequests: 0,
    resources: [] as string[],
  };
  const clients = new Set<string>();
  const codes = new Map<string, Grant>();
  const accessTokens = new Set<string>();
  const refreshTokens = new Map<string, 'live' | 'used' | 'revoked'>();
  const issued: string[] = [];
  let origin = '';

  const issue = (scope: string, withRefresh = options.refreshTokens !== false) => {
    const access = `at-${randomBytes(12).toString('hex')}`;
    accessTokens.add(access);
    issued.push(access);
    const token = { access_token: access, token_type: 'Bearer', expires_in: options.accessTokenSeconds ?? 3600, scope };
    if (!withRefresh) return token;
    const refresh = `rt-${randomBytes(12).toString('hex')}`;
    refreshTokens.set(refresh, 'live');
    issued.push(refresh);
    return { ...token, refresh_token: refresh };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', origin);
    const path = url.pathname;
    if (path === '/.well-known/oauth-protected-resource/mcp') {
      return sendJson(res, 200, {
        resource: `${origin}/mcp`,
        authorization_servers: [origin],
        scopes_supported: scopes,
      });
    }
    if (path === '/.well-known/oauth-authorization-server') {
      return sendJson(res, 200, {
        issuer: origin,
        authorization_endpoint: `${origin}/authorize`,
        token_endpoint: `${origin}/token`,
        registration_endpoint: `${origin}/register`,
        response_types_supported: ['code'],
        grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['none', 'client_secret_basic'],
        authorization_response_iss_parameter_supported: true,
      });
    }
    if (path === '/register' && req.method === 'POST') {
      counters.registrations += 1;
      if (options.registrationDelayMs) await new Promise((resolve) => setTimeout(resolve, options.registrationDelayMs));
      const body = (await readBody(req, 'json')) as { redirect_uris?: string[] };
      const clientId = `client-${randomBytes(6).toString('hex')}`;
      clients.add(clientId);
      return sendJson(res, 201, {
        client_id: clientId,
        redirect_uris: body.redirect_uris ?? [],
        token_endpoint_auth_method: 'none',
      });
    }
    if (path === '/authorize') {
      counters.authorizationRequests += 1;
      const q = url.searchParams;
      const clientId = q.get('client_id') ?? '';
      const redirectUri = q.get('redirect_uri') ?? '';
      if (!clients.has(clientId) || q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge')) {
        return sendJson(res, 400, { error: 'invalid_request' });
      }
      const code = `code-${randomBytes(12).toString('hex')}`;
      codes.set(code, {
        clientId,
        redirectUri,
        challenge: q.get('code_challenge') ?? '',
        scope: q.get('scope') ?? scopes.join(' '),
      });
      const target = new URL(redirectUri);
      target.searchParams.set('code', code);
      target.searchParams.set('iss', origin);
      if (q.get('state')) target.searchParams.set('state', q.get('state') ?? '');
      if (options.consent && req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        return res.end(
          `<!doctype html><title>Consent</title><h1>Allow mcp-llmchat to use the demo tools?</h1>` +
            `<p><a id="allow" href="${escapeHtml(target.href)}">Allow</a></p>`,
        );
      }
      res.writeHead(302, { location: target.href });
      return res.end();
    }
    if (path === '/token' && req.method === 'POST') {
      const form = (await readBody(req, 'form')) as URLSearchParams;
      if (options.tokenDelayMs) await new Promise((resolve) => setTimeout(resolve, options.tokenDelayMs));
      const resource = form.get('resource');
      if (resource) counters.resources.push(resource);
      if (form.get('grant_type') === 'authorization_code') {
        const grant = codes.get(form.get('code') ?? '');
        codes.delete(form.get('code') ?? '');
        const verifier = form.get('code_verifier') ?? '';
        const challenge = createHash('sha256').update(verifier).digest('base64url');
        if (!grant || grant.challenge !== challenge || grant.redirectUri !== form.get('redirect_uri')) {
          return sendJson(res, 400, { error: 'invalid_grant' });
        }
        counters.codeExchanges += 1;
        return sendJson(res, 200, issue(grant.scope));
      }
      if (form.get('grant_type') === 'refresh_token') {
        counters.refreshRequests += 1;
        const token = form.get('refresh_token') ?? '';
        const state = refreshTokens.get(token);
        if (state === 'used') {
          // A used refresh token came back: someone redeemed it twice. Revoke the family.
          counters.refreshReuses += 1;
          for (const key of refreshTokens.keys()) refreshTokens.set(key, 'revoked');
          accessTokens.clear();
        }
        if (state !== 'live') return sendJson(res, 400, { error: 'invalid_grant' });
        refreshTokens.set(token, 'used');
        return sendJson(res, 200, issue(scopes.join(' ')));
      }
      const machine = options.machineClient;
      if (form.get('grant_type') === 'client_credentials' && machine) {
        const basic = `Basic ${Buffer.from(`${machine.clientId}:${machine.clientSecret}`).toString('base64')}`;
        if (req.headers.authorization !== basic) return sendJson(res, 401, { error: 'invalid_client' });
        counters.clientCredentialsGrants += 1;
        return sendJson(res, 200, issue(scopes.join(' '), false));
      }
      return sendJson(res, 400, { error: 'unsupported_grant_type' });
    }
    if (path === '/mcp') {
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      if (!token || !accessTokens.has(token)) {
        counters.unauthorizedMcpRequests += 1;
        res.writeHead(401, {
          'content-type': 'application/json',
          'www-authenticate': `Bearer resource_metadata="${origin}/.well-known/oauth-protected-resource/mcp"`,
        });
        return res.end(JSON.stringify({ error: 'invalid_token' }));
      }
      const body = req.method === 'POST' ? await readBody(req, 'json') : undefined;
      const server = options.createServer();
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      res.on('close', () => {
        void transport.close();
        void server.close();
      });
      await server.connect(transport);
      return transport.handleRequest(req, res, body);
    }
    return sendJson(res, 404, { error: 'not_found' });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) sendJson(res, 500, { error: 'server_error' });
      else res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: `${origin}/mcp`,
    origin,
    counters,
    issued,
    expireAccessTokens: () => accessTokens.clear(),
    revokeRefreshTokens: () => {
      for (const key of refreshTokens.keys()) refreshTokens.set(key, 'revoked');
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function readBody(req: IncomingMessage, kind: 'json' | 'form'): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (kind === 'form') return new URLSearchParams(text);
  try {
    return text === '' ? {} : JSON.parse(text);
  } catch {
    return {};
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');
}
