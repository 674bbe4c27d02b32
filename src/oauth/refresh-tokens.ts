import type { OAuthDiscoveryState } from '@modelcontextprotocol/sdk/client/auth.js';
import {
  discoverAuthorizationServerMetadata,
  fetchToken,
  type OAuthClientProvider,
  refreshAuthorization,
  selectResourceURL,
} from '@modelcontextprotocol/sdk/client/auth.js';
import { OAuthError, ServerError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import { isLlmChatError } from '../errors.js';
import type { OAuthProviderDeps } from './oauth-provider-deps.js';
import type { OAuthStore, StoredTokens, TokenOwner } from './oauth-store.js';
import { refreshLockKey } from './oauth-store.js';

// A refresh is one HTTP round trip; the lease outlives it comfortably and is renewed anyway.
const REFRESH_LOCK_TTL_MS = 15_000;
const REFRESH_WAIT_MS = 30_000;

/**
 * Replaces `staleAccessToken` with a fresh one, one refresh at a time per owner and server
 * across every process sharing the storage:
 * - the caller waits for the lock; once it holds it, it reads the tokens again, and if another
 *   process already replaced the stale access token it uses that one (no second request, so a
 *   rotating refresh token is never redeemed twice);
 * - otherwise it redeems the refresh token with the SDK's `refreshAuthorization` (resource
 *   indicator included) and stores the answer in one write, keeping the old refresh token only
 *   when the server did not rotate it;
 * - for a `client_credentials` owner (no refresh token), the same lock guards fetching a new
 *   token, so processes that meet an expired machine token ask for one new token, not one each;
 * - a rejected access token without a refresh token is forgotten (the user authorizes again);
 * - a refresh the authorization server refuses for good (`invalid_grant`, a revoked token)
 *   forgets the tokens and resolves undefined: the user must authorize again. A transient failure
 *   (network, 5xx) keeps them and resolves undefined for this call only.
 * @internal
 */
export async function refreshTokens(
  deps: OAuthProviderDeps,
  provider: OAuthClientProvider,
  owner: TokenOwner,
  serverUrl: string,
  staleAccessToken: string,
): Promise<StoredTokens | undefined> {
  const { store, locks, logger } = deps;
  try {
    return await locks.using(
      refreshLockKey(owner, serverUrl),
      async () => {
        const current = await store.getTokens(owner, serverUrl);
        if (current && current.access_token !== staleAccessToken) return current;
        const machine = owner.kind === 'app';
        if (!machine && !current?.refresh_token) {
          // The server turned down the token and nothing can renew it: forget it, so the user
          // is asked to authorize again instead of being refused with a dead token.
          if (current) await store.deleteTokens(owner, serverUrl);
          return undefined;
        }
        const discovery = await store.getDiscovery(serverUrl);
        if (!discovery || !issuerMatches(current?.issuer, discovery)) {
          // Never hand a refresh token to an authorization server it was not issued by; without
          // discovery, the SDK's own flow (on the 401) discovers first.
          return undefined;
        }
        try {
          const fresh =
            machine || !current?.refresh_token
              ? await fetchMachineToken(deps, provider, serverUrl, discovery)
              : await redeem(deps, provider, serverUrl, discovery, current.refresh_token);
          const next: StoredTokens = {
            ...fresh,
            ...((fresh.refresh_token ?? current?.refresh_token)
              ? { refresh_token: fresh.refresh_token ?? current?.refresh_token }
              : {}),
            issuer: String(discovery.authorizationServerUrl),
          };
          if (typeof fresh.expires_in === 'number') next.expires_at = Date.now() + fresh.expires_in * 1000;
          await store.saveTokens(owner, serverUrl, next);
          logger?.debug?.('OAuth tokens refreshed', { owner: owner.kind });
          return next;
        } catch (error) {
          return forgetIfFinal(store, owner, serverUrl, error, deps);
        }
      },
      { ttlMs: REFRESH_LOCK_TTL_MS, waitMs: REFRESH_WAIT_MS },
    );
  } catch (error) {
    if (!isLlmChatError(error)) throw error;
    logger?.warn?.('OAuth refresh could not run', { code: error.code });
    return undefined;
  }
}

async function redeem(
  deps: OAuthProviderDeps,
  provider: OAuthClientProvider,
  serverUrl: string,
  discovery: OAuthDiscoveryState,
  refreshToken: string,
) {
  const metadata =
    discovery.authorizationServerMetadata ??
    (await discoverAuthorizationServerMetadata(discovery.authorizationServerUrl, { fetchFn: deps.fetch }));
  const clientInformation = await provider.clientInformation();
  if (!clientInformation) throw new OAuthError('invalid_client', 'No client information.');
  const selected = await selectResourceURL(serverUrl, provider, discovery.resourceMetadata);
  // The metadata's indicator verbatim, as the SDK's own auth() sends it: `URL.href` would add a
  // "/" to a pathless indicator, which exact-match servers reject. The SDK accepts a string here
  // at runtime, though its type says URL.
  const resource =
    selected && discovery.resourceMetadata ? (discovery.resourceMetadata.resource as unknown as URL) : selected;
  return refreshAuthorization(discovery.authorizationServerUrl, {
    metadata,
    clientInformation,
    refreshToken,
    ...(resource ? { resource } : {}),
    ...(provider.addClientAuthentication ? { addClientAuthentication: provider.addClientAuthentication } : {}),
    fetchFn: deps.fetch,
  });
}

async function fetchMachineToken(
  deps: OAuthProviderDeps,
  provider: OAuthClientProvider,
  serverUrl: string,
  discovery: OAuthDiscoveryState,
) {
  const metadata =
    discovery.authorizationServerMetadata ??
    (await discoverAuthorizationServerMetadata(discovery.authorizationServerUrl, { fetchFn: deps.fetch }));
  const selected = await selectResourceURL(serverUrl, provider, discovery.resourceMetadata);
  const resource =
    selected && discovery.resourceMetadata ? (discovery.resourceMetadata.resource as unknown as URL) : selected;
  return fetchToken(provider, discovery.authorizationServerUrl, {
    metadata,
    ...(resource ? { resource } : {}),
    fetchFn: deps.fetch,
  });
}

async function forgetIfFinal(
  store: OAuthStore,
  owner: TokenOwner,
  serverUrl: string,
  error: unknown,
  deps: OAuthProviderDeps,
): Promise<undefined> {
  // The SDK reports answers it could not parse and 5xx answers as ServerError: maybe transient.
  const final = error instanceof OAuthError && !(error instanceof ServerError);
  deps.logger?.warn?.('OAuth refresh failed', {
    final,
    error: error instanceof OAuthError ? error.errorCode : 'network',
  });
  if (final) await store.deleteTokens(owner, serverUrl);
  return undefined;
}

function issuerMatches(tokenIssuer: string | undefined, discovery: OAuthDiscoveryState): boolean {
  if (tokenIssuer === undefined) return true;
  const strip = (value: string) => value.replace(/\/+$/, '');
  return strip(tokenIssuer) === strip(String(discovery.authorizationServerUrl));
}
