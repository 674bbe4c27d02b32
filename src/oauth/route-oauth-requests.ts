import type { FetchLike } from '../types.js';

/**
 * The fetch an OAuth-enabled MCP transport runs on. The SDK sends two kinds of requests through
 * one `fetch`: MCP exchanges with the server, and the OAuth protocol's own requests (protected
 * resource and authorization server metadata, registration, token endpoint), which go to other
 * URLs by design. MCP exchanges (to the server's URL, carrying our bearer token, or opening an
 * event stream) go through `mcpFetch`, with its size limits and its allow-list for URLs a server
 * sends us to; the OAuth requests carry no bearer token and go straight to `oauthFetch`, which
 * still follows no redirect.
 * @internal
 */
export function routeOAuthRequests(mcpFetch: FetchLike, oauthFetch: FetchLike, serverUrl: string): FetchLike {
  return (input, init) => (isMcpExchange(input, init, serverUrl) ? mcpFetch(input, init) : oauthFetch(input, init));
}

function isMcpExchange(input: Parameters<FetchLike>[0], init: RequestInit | undefined, serverUrl: string): boolean {
  const raw = typeof input === 'string' ? input : input.href;
  try {
    if (new URL(raw).href === serverUrl) return true;
  } catch {
    return true;
  }
  const headers = new Headers(init?.headers);
  return (
    /^bearer /i.test(headers.get('authorization') ?? '') || (headers.get('accept') ?? '').includes('text/event-stream')
  );
}
