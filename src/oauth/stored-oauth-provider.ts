import { randomBytes } from 'node:crypto';
import {
  type OAuthClientProvider,
  type OAuthDiscoveryState,
  registerClient,
} from '@modelcontextprotocol/sdk/client/auth.js';
import { createPrivateKeyJwtAuth } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js';
import { LlmChatError } from '../errors.js';
import type { FetchLike } from '../types.js';
import type { OAuthClientConfig, OAuthOptions } from './oauth-options.js';
import type { OAuthProviderDeps } from './oauth-provider-deps.js';
import { attemptKey, registrationLockKey, type StoredTokens, type TokenOwner } from './oauth-store.js';
import { guardOAuthFetch } from './oauth-url-policy.js';
import { refreshTokens } from './refresh-tokens.js';
import { unionOfScopes } from './scopes.js';

export type { OAuthProviderDeps } from './oauth-provider-deps.js';

/** How many authorizations one user may be sent to for the same server before it is refused. */
const MAX_STEP_UPS = 3;

/**
 * The MCP SDK's `OAuthClientProvider` for one owner (a user, or the application for
 * `client_credentials`) and one MCP server, backed by the library's storage instead of memory,
 * so an authorization started on one process can finish on another and every process sees the
 * same tokens.
 *
 * The SDK runs the protocol (discovery, PKCE, the authorization URL, the code exchange); this
 * class decides where things live and adds what the SDK leaves to its host:
 * - refresh happens here, under a lock in the storage, never inside the SDK's `auth()` (which
 *   would redeem the same rotating refresh token once per process): `tokens()` hides the
 *   refresh token from the SDK and refreshes before expiry, and {@link withTokenRefresh} does so
 *   on a 401;
 * - `redirectToAuthorization` cannot redirect a browser from a server: it throws
 *   `MCP_AUTHORIZATION_REQUIRED` carrying the URL, which reaches the client as the 403 of
 *   `/connect` or the `error` event of a turn;
 * - one dynamic registration per authorization server, made under a lock and shared.
 * @internal
 */
export class StoredOAuthProvider implements OAuthClientProvider {
  readonly #deps: OAuthProviderDeps;
  readonly #owner: TokenOwner;
  readonly #serverUrl: string;
  readonly #client: OAuthClientConfig | undefined;
  #state: string | undefined;
  #codeVerifier: string | undefined;
  #discovery: OAuthDiscoveryState | undefined;

  /**
   * The `fetch` of this server's OAuth requests (metadata, registration, tokens): a URL the
   * host's policy does not allow for them (see `isOAuthUrlAllowed`) is never requested, and one
   * allowed only for its public host name goes through `publicFetch` when there is one.
   */
  readonly oauthFetch: FetchLike;

  constructor(deps: OAuthProviderDeps, owner: TokenOwner, serverUrl: string, codeVerifier?: string) {
    this.#deps = deps;
    this.#owner = owner;
    this.#serverUrl = serverUrl;
    this.oauthFetch = guardOAuthFetch(deps.fetch, serverUrl, deps.allowedUrls ?? [], deps.publicFetch);
    this.#client = deps.options.clients?.[serverUrl];
    this.#codeVerifier = codeVerifier;
    if (this.isClientCredentials && this.#client?.privateKeyPem) {
      const clientId = this.#client.clientId;
      this.addClientAuthentication = createPrivateKeyJwtAuth({
        issuer: clientId,
        subject: clientId,
        privateKey: this.#client.privateKeyPem,
        alg: this.#client.signingAlgorithm ?? 'ES256',
      });
    }
  }

  /** Set for `client_credentials` clients with a private key (`private_key_jwt`). */
  addClientAuthentication?: OAuthClientProvider['addClientAuthentication'];

  /** True for a host-configured machine-to-machine client. */
  get isClientCredentials(): boolean {
    return this.#client?.grant === 'client_credentials';
  }

  /** The host's callback URL; none for `client_credentials`. */
  get redirectUrl(): string | undefined {
    // No redirect URL is how the SDK tells a non-interactive (client_credentials) flow.
    return this.isClientCredentials ? undefined : this.#deps.options.redirectUrl;
  }

  /** The host's client ID metadata document URL, if any. */
  get clientMetadataUrl(): string | undefined {
    return this.#deps.options.clientMetadataUrl;
  }

  /** What a dynamic registration asks for: this application as an OAuth client. */
  get clientMetadata(): OAuthClientMetadata {
    if (this.isClientCredentials) {
      return {
        redirect_uris: [],
        grant_types: ['client_credentials'],
        client_name: this.#deps.options.clientName ?? 'mcp-llmchat',
        ...(this.#client?.scope ? { scope: this.#client.scope } : {}),
      };
    }
    return clientMetadataDocument(this.#deps.options);
  }

  /** A fresh random `state` for one authorization; kept for {@link saveCodeVerifier}. */
  state(): string {
    this.#state = randomBytes(24).toString('base64url');
    return this.#state;
  }

  /**
   * The client identity, in the order of preference: pre-registered for this server, the client
   * ID metadata document where the server supports it, the stored registration, a new one.
   */
  async clientInformation(): Promise<OAuthClientInformationMixed | undefined> {
    const client = this.#client;
    if (client) {
      return {
        client_id: client.clientId,
        ...(client.clientSecret ? { client_secret: client.clientSecret } : {}),
        ...(client.issuer ? { issuer: client.issuer } : {}),
      };
    }
    const discovery = await this.discoveryState();
    if (!discovery) return undefined;
    const issuer = String(discovery.authorizationServerUrl);
    const metadata = discovery.authorizationServerMetadata;
    const clientMetadataUrl = this.#deps.options.clientMetadataUrl;
    if (clientMetadataUrl && metadata?.client_id_metadata_document_supported === true) {
      return { client_id: clientMetadataUrl, issuer };
    }
    const stored = await this.#deps.store.getRegistration(issuer);
    if (stored) return stored;
    if (!metadata?.registration_endpoint) return undefined;
    // One registration per authorization server for the whole application, not one per user
    // or process: whoever takes the lock registers, everyone else reads what it stored.
    return this.#deps.locks.using(
      registrationLockKey(issuer),
      async () => {
        const again = await this.#deps.store.getRegistration(issuer);
        if (again) return again;
        const registered = await registerClient(issuer, {
          metadata,
          clientMetadata: this.clientMetadata,
          fetchFn: this.oauthFetch,
        });
        const info = { ...registered, issuer };
        await this.#deps.store.saveRegistration(issuer, info);
        return info;
      },
      { waitMs: 30_000, ttlMs: 30_000 },
    );
  }

  /** Keeps a registration (stamped with its `issuer` by the SDK) for everyone. */
  async saveClientInformation(info: OAuthClientInformationMixed): Promise<void> {
    // Pre-registered and metadata-document identities are configuration, not state.
    if (this.#client || info.client_id === this.#deps.options.clientMetadataUrl) return;
    if (typeof info.issuer === 'string') await this.#deps.store.saveRegistration(info.issuer, info);
  }

  /** The tokens to send, refreshed first when about to expire; the refresh token stays inside. */
  async tokens(): Promise<OAuthTokens | undefined> {
    let tokens = await this.#deps.store.getTokens(this.#owner, this.#serverUrl);
    if (!tokens) return undefined;
    // Short-lived tokens are renewed at half their life at the latest, never on every request.
    const lifetimeMs = (tokens.expires_in ?? Number.POSITIVE_INFINITY) * 1000;
    const skewMs = Math.min(this.#deps.options.refreshSkewMs ?? 60_000, lifetimeMs / 2);
    if (tokens.refresh_token && tokens.expires_at !== undefined && tokens.expires_at - Date.now() < skewMs) {
      tokens = await this.refresh(tokens.access_token);
      if (!tokens) return undefined;
    }
    // The refresh token stays ours: the SDK's auth() would redeem it without a lock.
    const { refresh_token: _hidden, expires_at: _internal, ...visible } = tokens;
    return visible;
  }

  /** Stores what the token endpoint answered (with its `issuer`), sealed, in one write. */
  async saveTokens(tokens: OAuthTokens): Promise<void> {
    await this.#deps.store.saveTokens(this.#owner, this.#serverUrl, withExpiry(tokens));
  }

  /**
   * Refreshes the access token, one refresh at a time per owner and server across processes.
   * Resolves the tokens to use now (undefined when the user must authorize again).
   */
  refresh(staleAccessToken: string): Promise<StoredTokens | undefined> {
    return refreshTokens(
      { ...this.#deps, fetch: this.oauthFetch },
      this,
      this.#owner,
      this.#serverUrl,
      staleAccessToken,
    );
  }

  /** The `client_credentials` grant's parameters; undefined (the code grant) for users. */
  prepareTokenRequest(scope?: string): URLSearchParams | undefined {
    if (!this.isClientCredentials) return undefined;
    const params = new URLSearchParams({ grant_type: 'client_credentials' });
    const requested = this.#client?.scope ?? scope;
    if (requested) params.set('scope', requested);
    return params;
  }

  /** Cannot redirect a browser from here: throws `MCP_AUTHORIZATION_REQUIRED` with the URL. */
  async redirectToAuthorization(authorizationUrl: URL): Promise<never> {
    const granted = (await this.#deps.store.getTokens(this.#owner, this.#serverUrl))?.scope;
    const requested = authorizationUrl.searchParams.get('scope') ?? undefined;
    if (granted && requested && isSubset(requested, granted)) {
      // The user already granted every scope the server asks for and it still refuses (or a
      // refresh failed for a passing reason): another round in the browser cannot help, so stop
      // here instead of looping.
      throw new LlmChatError(
        'MCP_UNAVAILABLE',
        'The MCP server refused the authorization it was given. Try again later, or forget the authorization and connect again.',
      );
    }
    const scope = unionOfScopes(granted, requested);
    if (scope) authorizationUrl.searchParams.set('scope', scope);
    throw new LlmChatError(
      'MCP_AUTHORIZATION_REQUIRED',
      'This MCP server needs your authorization: open the authorization link, then connect again.',
      { details: { authorization_url: authorizationUrl.href } },
    );
  }

  /** Records the pending authorization under its state, for the callback on any process. */
  async saveCodeVerifier(codeVerifier: string): Promise<void> {
    const state = this.#state;
    if (this.#owner.kind !== 'user' || state === undefined) {
      throw new LlmChatError('CONFIG_INVALID', 'An interactive authorization needs a user and a state.');
    }
    const pending = { userId: this.#owner.userId, serverUrl: this.#serverUrl, codeVerifier, createdAt: Date.now() };
    const ttlMs = this.#deps.options.stateTtlMs ?? 600_000;
    await this.#deps.store.savePendingFlow(state, pending, ttlMs);
    await this.#countStepUp();
  }

  /** The verifier of the authorization being completed (given by the callback). */
  codeVerifier(): string {
    if (this.#codeVerifier === undefined) throw new LlmChatError('BAD_REQUEST', 'No authorization is pending.');
    return this.#codeVerifier;
  }

  /** Discovery results shared by every user of the server. */
  async discoveryState(): Promise<OAuthDiscoveryState | undefined> {
    this.#discovery = await this.#deps.store.getDiscovery(this.#serverUrl);
    return this.#discovery;
  }

  /** Keeps discovery results for everyone. */
  async saveDiscoveryState(state: OAuthDiscoveryState): Promise<void> {
    this.#discovery = state;
    await this.#deps.store.saveDiscovery(this.#serverUrl, state);
  }

  /**
   * The discovery this provider last read or saved: the one the SDK's flow is using, whose
   * endpoints its next OAuth requests go to (see `routeOAuthRequests`).
   */
  get knownDiscovery(): OAuthDiscoveryState | undefined {
    return this.#discovery;
  }

  /** Forgets what the SDK found invalid (a registration is only forgotten if it was dynamic). */
  async invalidateCredentials(scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery'): Promise<void> {
    const store = this.#deps.store;
    // The discovery names the authorization server the registration belongs to: read it before
    // 'all' deletes it, or a rejected registration would be kept and handed out again.
    const forgetClient = (scope === 'all' || scope === 'client') && !this.#client;
    const discovery = forgetClient ? await this.discoveryState() : undefined;
    if (scope === 'all' || scope === 'tokens') await store.deleteTokens(this.#owner, this.#serverUrl);
    if (scope === 'all' || scope === 'discovery') await store.deleteDiscovery(this.#serverUrl);
    if (discovery) await store.deleteRegistration(String(discovery.authorizationServerUrl));
  }

  // Bounds how often a user who already holds tokens is sent back to the consent page for one
  // server (step-up, expired grants) within the state lifetime, so a server that never accepts
  // cannot keep a client in a loop of authorizations.
  async #countStepUp(): Promise<void> {
    if (this.#owner.kind !== 'user') return;
    if (!(await this.#deps.store.getTokens(this.#owner, this.#serverUrl))) return;
    const ttlMs = this.#deps.options.stateTtlMs ?? 600_000;
    for (let attempt = 0; attempt < MAX_STEP_UPS; attempt++) {
      // A marker that expires by itself, never released: the count of the last `ttlMs`.
      const lock = await this.#deps.locks.tryAcquire(attemptKey(this.#owner, this.#serverUrl, attempt), { ttlMs });
      if (lock !== null) return;
    }
    throw new LlmChatError('MCP_UNAVAILABLE', 'Too many authorization attempts for this MCP server; try again later.');
  }
}

/** The client metadata of this application, as served at `clientMetadataUrl`. @internal */
export function clientMetadataDocument(options: OAuthOptions): OAuthClientMetadata & { client_id?: string } {
  return {
    ...(options.clientMetadataUrl ? { client_id: options.clientMetadataUrl } : {}),
    client_name: options.clientName ?? 'mcp-llmchat',
    redirect_uris: [options.redirectUrl],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
  };
}

function withExpiry(tokens: OAuthTokens): StoredTokens {
  const stored: StoredTokens = { ...tokens };
  if (typeof tokens.expires_in === 'number') stored.expires_at = Date.now() + tokens.expires_in * 1000;
  return stored;
}

function isSubset(requested: string, granted: string): boolean {
  const have = new Set(granted.split(' ').filter(Boolean));
  return requested
    .split(' ')
    .filter(Boolean)
    .every((scope) => have.has(scope));
}
