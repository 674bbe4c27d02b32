import type { FetchLike } from '../types.js';
import type { StoredOAuthProvider } from './stored-oauth-provider.js';

/**
 * Wraps the MCP transport's `fetch` so that a 401 answering a request made with our access token
 * is met by one locked refresh (see {@link StoredOAuthProvider.refresh}) and the request is sent
 * again with the new token, once. When no new token comes out of it, the 401 goes back to the
 * SDK transport, whose `auth()` then starts a new authorization (`MCP_AUTHORIZATION_REQUIRED`).
 * Requests without our token (discovery, registration) pass through untouched.
 * @internal
 */
export function withTokenRefresh(fetch: FetchLike, provider: StoredOAuthProvider): FetchLike {
  return async (input, init) => {
    const response = await fetch(input, init);
    if (response.status !== 401) return response;
    const sent = new Headers(init?.headers).get('authorization');
    if (!sent?.startsWith('Bearer ')) return response;
    const fresh = await provider.refresh(sent.slice('Bearer '.length));
    if (!fresh || `Bearer ${fresh.access_token}` === sent) return response;
    await response.body?.cancel().catch(() => undefined);
    const headers = new Headers(init?.headers);
    headers.set('authorization', `Bearer ${fresh.access_token}`);
    return fetch(input, { ...init, headers });
  };
}
