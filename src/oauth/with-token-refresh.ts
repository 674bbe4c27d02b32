import { copyWith } from '../internal/copy-with.js';
import type { FetchLike } from '../types.js';
import type { StoredOAuthProvider } from './stored-oauth-provider.js';

/**
 * Wraps the MCP transport's `fetch` so that a 401 answering a request made with our access token
 * is met by one locked refresh (see {@link StoredOAuthProvider.refresh}) and the request is sent
 * again with the new token, once. When no new token comes out of it, the 401 goes back to the
 * SDK transport, whose `auth()` then starts a new authorization (`MCP_AUTHORIZATION_REQUIRED`).
 * Requests without our token (discovery, registration) pass through untouched, except for a
 * `client_credentials` client, whose first token is fetched under the same lock.
 * @internal
 */
export function withTokenRefresh(fetch: FetchLike, provider: StoredOAuthProvider, serverUrl: string): FetchLike {
  return async (input, init) => {
    const response = await fetch(input, init);
    // Only the MCP endpoint's own 401s: the SDK also fetches discovery and token URLs through here.
    if (response.status !== 401 || !sameUrl(input, serverUrl)) return response;
    const sent = new Headers(init?.headers).get('authorization') ?? '';
    // A user's request without our token is the SDK's to handle (it starts an authorization); a
    // machine client fetches its first token under the same lock as a renewal.
    if (!sent.startsWith('Bearer ') && !provider.isClientCredentials) return response;
    const fresh = await provider.refresh(sent.slice('Bearer '.length));
    if (!fresh || `Bearer ${fresh.access_token}` === sent) return response;
    await response.body?.cancel().catch(() => undefined);
    const headers = new Headers(init?.headers);
    headers.set('authorization', `Bearer ${fresh.access_token}`);
    return fetch(input, copyWith(init ?? {}, { headers }));
  };
}

function sameUrl(input: Parameters<FetchLike>[0], serverUrl: string): boolean {
  const raw = typeof input === 'string' ? input : input.href;
  try {
    return new URL(raw).href === serverUrl;
  } catch {
    return false;
  }
}
