import {
  buildDiscoveryUrls,
  extractWWWAuthenticateParams,
  type OAuthDiscoveryState,
} from '@modelcontextprotocol/sdk/client/auth.js';
import type { FetchLike } from '../types.js';

/**
 * The fetch an OAuth-enabled MCP transport runs on. The SDK sends two kinds of requests through
 * one `fetch`: MCP exchanges with the server, and the OAuth protocol's own requests, which go to
 * other URLs by design. Only the OAuth requests this connection's flow expects go to `oauthFetch`
 * (held to the OAuth URL policy, following no redirect):
 * - a GET of protected resource metadata: the server's well-known URLs, or the one a challenge
 *   of the server or the stored discovery names;
 * - a GET of the metadata of an authorization server that resource metadata, the stored
 *   discovery or the legacy fallback (the server's origin) names;
 * - a POST to the registration or token endpoint of the discovery the flow is using
 *   (`discovery`, the provider's latest).
 * The headers configured for the MCP server (`serverHeaders`) are not sent with them. Everything
 * else, in particular a legacy-SSE message endpoint the server names and any request carrying
 * our bearer token, goes through `mcpFetch`, with its size limits, redaction and
 * allow-list for URLs a server sends us to. (Telling them apart by headers would let a server
 * whose message endpoint needs no token have our POSTs delivered anywhere.)
 * @internal
 */
export function routeOAuthRequests(
  mcpFetch: FetchLike,
  oauthFetch: FetchLike,
  serverUrl: string,
  discovery: () => OAuthDiscoveryState | undefined,
  serverHeaders: Readonly<Record<string, string>> = {},
): FetchLike {
  const expected = new ExpectedOAuthRequests(serverUrl, discovery);
  return async (input, init) => {
    const url = hrefOf(input);
    const method = (init?.method ?? 'GET').toUpperCase();
    if (url === undefined || hasBearer(init) || !expected.includes(method, url)) {
      const response = await mcpFetch(input, init);
      expected.learnChallenge(response);
      return response;
    }
    const response = await oauthFetch(input, withoutServerHeaders(init, serverHeaders));
    if (expected.isResourceMetadata(url)) await expected.learnResourceMetadata(response);
    return response;
  };
}

/**
 * `init` without the headers configured for the MCP server (an API key, say). The SDK puts them
 * on every request of the transport, OAuth ones too, and those go to other parties: an
 * authorization server, a metadata host. A header the SDK set itself for the flow (its client
 * authentication, its content type) has another value, and stays.
 */
function withoutServerHeaders(
  init: RequestInit | undefined,
  serverHeaders: Readonly<Record<string, string>>,
): RequestInit | undefined {
  const configured = Object.entries(serverHeaders);
  if (init?.headers === undefined || configured.length === 0) return init;
  const headers = new Headers(init.headers);
  for (const [name, value] of configured) {
    if (headers.get(name) === value) headers.delete(name);
  }
  return { ...init, headers };
}

/** The OAuth requests one connection's flow may make, learned as the flow goes. */
class ExpectedOAuthRequests {
  readonly #serverUrl: string;
  readonly #discovery: () => OAuthDiscoveryState | undefined;
  /** Protected resource metadata URLs: the well-known ones, and those challenges named. */
  readonly #resourceMetadata = new Set<string>();
  /** Authorization servers: the legacy fallback, and those resource metadata named. */
  readonly #authorizationServers = new Set<string>();

  constructor(serverUrl: string, discovery: () => OAuthDiscoveryState | undefined) {
    this.#serverUrl = new URL(serverUrl).href;
    this.#discovery = discovery;
    for (const url of wellKnownResourceMetadataUrls(serverUrl)) this.#resourceMetadata.add(url);
    this.#authorizationServers.add(new URL('/', serverUrl).href);
  }

  includes(method: string, url: string): boolean {
    if (url === this.#serverUrl) return false;
    if (method === 'GET') return this.isResourceMetadata(url) || this.#isAuthorizationServerMetadata(url);
    return method === 'POST' && this.#endpoints().includes(url);
  }

  isResourceMetadata(url: string): boolean {
    const stored = this.#discovery()?.resourceMetadataUrl;
    return this.#resourceMetadata.has(url) || (stored !== undefined && hrefOf(stored) === url);
  }

  /** Keeps the `resource_metadata` a 401 or 403 of the server names (the SDK fetches it next). */
  learnChallenge(response: Response): void {
    if (response.status !== 401 && response.status !== 403) return;
    const named = extractWWWAuthenticateParams(response).resourceMetadataUrl;
    if (named) this.#resourceMetadata.add(named.href);
  }

  /** Keeps the authorization servers the resource metadata names (the SDK fetches theirs next). */
  async learnResourceMetadata(response: Response): Promise<void> {
    if (!response.ok) return;
    const document: unknown = await response
      .clone()
      .json()
      .catch(() => undefined);
    const servers = (document as { authorization_servers?: unknown } | undefined)?.authorization_servers;
    if (!Array.isArray(servers)) return;
    for (const server of servers) {
      const href = typeof server === 'string' ? hrefOf(server) : undefined;
      if (href !== undefined) this.#authorizationServers.add(href);
    }
  }

  #isAuthorizationServerMetadata(url: string): boolean {
    const stored = this.#discovery()?.authorizationServerUrl;
    const servers = stored === undefined ? this.#authorizationServers : [...this.#authorizationServers, stored];
    for (const server of servers) {
      const candidates = safely(() => buildDiscoveryUrls(server)) ?? [];
      if (candidates.some((candidate) => candidate.url.href === url)) return true;
    }
    return false;
  }

  // The registration and token endpoints of the discovery in use; the SDK's `/register` and
  // `/token` on the authorization server when it published no metadata.
  #endpoints(): string[] {
    const state = this.#discovery();
    if (!state) return [];
    const metadata = state.authorizationServerMetadata;
    const named = metadata
      ? [metadata.registration_endpoint, metadata.token_endpoint]
      : ['/register', '/token'].map((path) => safely(() => new URL(path, state.authorizationServerUrl).href));
    return named.flatMap((url) => (url === undefined ? [] : (hrefOf(url) ?? [])));
  }
}

// What the SDK's discovery requests: path-aware first, then the origin's root.
function wellKnownResourceMetadataUrls(serverUrl: string): string[] {
  const server = new URL(serverUrl);
  const path = server.pathname.endsWith('/') ? server.pathname.slice(0, -1) : server.pathname;
  const pathAware = new URL(`/.well-known/oauth-protected-resource${path}`, server);
  pathAware.search = server.search;
  return [pathAware.href, new URL('/.well-known/oauth-protected-resource', server).href];
}

// Our token is for the MCP server alone: a request carrying it is an MCP exchange, wherever it goes.
function hasBearer(init: RequestInit | undefined): boolean {
  return /^bearer /i.test(new Headers(init?.headers).get('authorization') ?? '');
}

function hrefOf(input: string | URL): string | undefined {
  return safely(() => new URL(input).href);
}

function safely<T>(compute: () => T): T | undefined {
  try {
    return compute();
  } catch {
    return undefined;
  }
}
