import { auth } from '@modelcontextprotocol/sdk/client/auth.js';
import { OAuthError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import { isLlmChatError, LlmChatError } from '../errors.js';
import { createSealer } from '../internal/seal.js';
import type { LockManager } from '../lock/lock-manager.js';
import type { ChatStorage } from '../storage.js';
import type { FetchLike, Logger, McpServerConfig } from '../types.js';
import type { OAuthOptions } from './oauth-options.js';
import { missingSealKey, OAuthStore, type TokenOwner } from './oauth-store.js';
import type { PublicAddressFetch } from './public-address-fetch.js';
import { routeOAuthRequests } from './route-oauth-requests.js';
import { clientMetadataDocument, type OAuthProviderDeps, StoredOAuthProvider } from './stored-oauth-provider.js';
import { withTokenRefresh } from './with-token-refresh.js';

/** What {@link OAuthManager} needs from the handler. @internal */
export interface OAuthManagerDeps {
  options: OAuthOptions;
  sealKey: string | Uint8Array | undefined;
  storage: ChatStorage;
  locks: LockManager;
  fetch: FetchLike;
  /** The host's normalized `mcp.allowedUrls`: OAuth endpoints under it are allowed anywhere. */
  allowedUrls?: readonly string[];
  /** Where OAuth URLs allowed only for their public host name go (see `OAuthProviderDeps`). */
  publicFetch?: PublicAddressFetch;
  logger?: Logger;
}

/** An MCP server's OAuth wiring for one connection (see `McpAuth`). @internal */
export interface OAuthConnection {
  provider: StoredOAuthProvider;
  fetch: FetchLike;
  route(mcpFetch: FetchLike): FetchLike;
}

/**
 * Per-user OAuth for MCP servers (CONTRACT §8): hands each MCP connection its storage-backed
 * provider, completes authorizations on the callback, forgets tokens on request and describes
 * this application as an OAuth client.
 * @internal
 */
export class OAuthManager {
  readonly #deps: OAuthProviderDeps;

  /** @throws LlmChatError `CONFIG_INVALID` without a seal key, or with a bad URL in the options. */
  constructor(deps: OAuthManagerDeps) {
    if (deps.sealKey === undefined) throw missingSealKey();
    assertUrl('oauth.redirectUrl', deps.options.redirectUrl);
    const metadataUrl = deps.options.clientMetadataUrl;
    if (metadataUrl !== undefined) {
      assertUrl('oauth.clientMetadataUrl', metadataUrl);
      // The spec's client id documents are https URLs with a path; others are refused by servers.
      const parsed = new URL(metadataUrl);
      if (parsed.protocol !== 'https:' || parsed.pathname === '/') {
        throw new LlmChatError('CONFIG_INVALID', 'oauth.clientMetadataUrl must be an https URL with a path.');
      }
    }
    // Keys as connections spell server URLs (normalized), so `http://h:80/mcp` finds `http://h/mcp`.
    const clients = Object.fromEntries(
      Object.entries(deps.options.clients ?? {}).map(([url, client]) => {
        assertUrl('oauth.clients key', url);
        return [new URL(url).href, client];
      }),
    );
    const store = new OAuthStore(
      deps.storage.sessions,
      deps.storage.locks,
      createSealer(deps.sealKey),
      deps.options.tokenTtlMs ?? 30 * 24 * 60 * 60 * 1000,
    );
    this.#deps = {
      store,
      locks: deps.locks,
      options: { ...deps.options, clients },
      fetch: deps.fetch,
      allowedUrls: deps.allowedUrls ?? [],
      ...(deps.publicFetch ? { publicFetch: deps.publicFetch } : {}),
      ...(deps.logger ? { logger: deps.logger } : {}),
    };
  }

  /**
   * The OAuth wiring for `server` on behalf of `userId`, or undefined when the server carries its
   * own credentials (an `authToken` or `Authorization` header) or is not reached over HTTP.
   */
  connectionFor(userId: string, server: McpServerConfig): OAuthConnection | undefined {
    if (!server.url || server.transport === 'stdio' || server.authToken) return undefined;
    if (Object.keys(server.headers ?? {}).some((name) => name.toLowerCase() === 'authorization')) return undefined;
    const machine = this.#deps.options.clients?.[server.url]?.grant === 'client_credentials';
    const owner: TokenOwner = machine ? { kind: 'app' } : { kind: 'user', userId };
    const provider = new StoredOAuthProvider(this.#deps, owner, server.url);
    const serverUrl = server.url;
    return {
      provider,
      fetch: withTokenRefresh(this.#deps.fetch, provider, serverUrl),
      route: (mcpFetch) =>
        routeOAuthRequests(
          mcpFetch,
          provider.oauthFetch,
          serverUrl,
          () => provider.knownDiscovery,
          server.headers ?? {},
        ),
    };
  }

  /**
   * Completes an authorization from the callback's query: the single-use `state` must name a
   * pending authorization of this very user; the `iss` parameter, when present or required by
   * the server's metadata (RFC 9207), must name the server's issuer; then the SDK exchanges the
   * code with the stored PKCE verifier and the tokens are stored.
   * @returns the MCP server URL that is now authorized.
   */
  async completeAuthorization(userId: string, query: URLSearchParams): Promise<string> {
    const state = query.get('state');
    if (!state) throw new LlmChatError('BAD_REQUEST', 'The authorization response has no state.');
    const ttlMs = this.#deps.options.stateTtlMs ?? 600_000;
    // Taken only by its owner: another user's callback with this state must not burn it.
    const flow = await this.#deps.store.consumePendingFlow(state, userId, ttlMs);
    if (flow === 'other-user') throw new LlmChatError('FORBIDDEN', 'This authorization was started by another user.');
    if (!flow) {
      throw new LlmChatError('BAD_REQUEST', 'This authorization has expired or was already used. Connect again.');
    }
    if (query.get('error') !== null) {
      throw new LlmChatError('BAD_REQUEST', 'The authorization was not granted. Connect again to retry.');
    }
    const code = query.get('code');
    if (!code) throw new LlmChatError('BAD_REQUEST', 'The authorization response has no code.');
    await this.#checkIssuer(flow.serverUrl, query.get('iss'));
    const provider = new StoredOAuthProvider(this.#deps, { kind: 'user', userId }, flow.serverUrl, flow.codeVerifier);
    try {
      await auth(provider, { serverUrl: flow.serverUrl, authorizationCode: code, fetchFn: provider.oauthFetch });
    } catch (error) {
      if (isLlmChatError(error)) throw error;
      this.#deps.logger?.warn?.('OAuth code exchange failed', {
        error: error instanceof OAuthError ? error.errorCode : 'network',
      });
      throw new LlmChatError('BAD_REQUEST', 'The authorization could not be completed. Connect again.', {
        cause: error,
      });
    }
    return flow.serverUrl;
  }

  /** Forgets `userId`'s tokens for `serverUrl`; true when there were any. */
  forget(userId: string, serverUrl: string): Promise<boolean> {
    return this.#deps.store.deleteTokens({ kind: 'user', userId }, serverUrl);
  }

  /** This application's client ID metadata document. */
  clientMetadataDocument(): Record<string, unknown> {
    return { ...clientMetadataDocument(this.#deps.options) };
  }

  /** Where the callback sends the browser after success, if the host set one. */
  get returnUrl(): string | undefined {
    return this.#deps.options.returnUrl;
  }

  async #checkIssuer(serverUrl: string, iss: string | null): Promise<void> {
    const metadata = (await this.#deps.store.getDiscovery(serverUrl))?.authorizationServerMetadata;
    // RFC 9207: a server that announces `iss` in its responses must be checked against it. The
    // SDK's metadata schema keeps fields it does not name, such as this one.
    const required =
      (metadata as Record<string, unknown> | undefined)?.authorization_response_iss_parameter_supported === true;
    if (iss === null && !required) return;
    const strip = (value: string) => value.replace(/\/+$/, '');
    if (iss === null || metadata?.issuer === undefined || strip(iss) !== strip(metadata.issuer)) {
      throw new LlmChatError('BAD_REQUEST', 'The authorization response came from an unexpected authorization server.');
    }
  }
}

function assertUrl(name: string, value: string): void {
  try {
    new URL(value);
  } catch {
    throw new LlmChatError('CONFIG_INVALID', `${name} must be an absolute URL.`);
  }
}
