/**
 * A client the host registered with an MCP server's authorization server beforehand (its id and
 * secret come from that server's developer console), or the credentials of a machine-to-machine
 * client for the `client_credentials` grant.
 */
export interface OAuthClientConfig {
  /** The registered client id. */
  clientId: string;
  /** The client secret, for confidential clients. A secret: never shown, never logged. */
  clientSecret?: string;
  /**
   * `authorization_code` (the default): each user authorizes in the browser, tokens are per user.
   * `client_credentials`: the library itself obtains one token for the server, shared by all
   * users (machine-to-machine; only for servers the host configures).
   * @default 'authorization_code'
   */
  grant?: 'authorization_code' | 'client_credentials';
  /** `client_credentials` only: sign a `private_key_jwt` assertion with this PKCS#8 PEM key instead of sending the secret. */
  privateKeyPem?: string;
  /** The signing algorithm of `privateKeyPem`. @default 'ES256' */
  signingAlgorithm?: string;
  /** Scope requested with `client_credentials`. */
  scope?: string;
  /**
   * The authorization server the client was registered with. When set, these credentials are
   * never presented to another one.
   */
  issuer?: string;
}

/**
 * Turns on per-user OAuth for MCP servers that require authorization (MCP authorization spec,
 * OAuth 2.1 with PKCE). Needs `sealKey`: tokens, PKCE verifiers and client secrets are sealed in
 * the storage.
 */
export interface OAuthOptions {
  /**
   * The public URL of this handler's `GET /oauth/callback` route, as the user's browser reaches
   * it (for example `https://chat.example.com/llmchat/oauth/callback`). Authorization servers
   * redirect there.
   */
  redirectUrl: string;
  /**
   * Where the callback sends the browser after a successful authorization (the chat page).
   * `oauth=connected` is added to its query. Without it, the callback shows a short page saying
   * the window can be closed. @default undefined
   */
  returnUrl?: string;
  /**
   * The public https URL of this handler's `GET /oauth/client-metadata.json` route. When set, it
   * is this application's OAuth client id with every authorization server that supports client
   * ID metadata documents (the preferred client identity of the MCP spec), so no registration
   * is needed. @default undefined (dynamic registration where supported)
   */
  clientMetadataUrl?: string;
  /** Shown by authorization servers on their consent page. @default 'mcp-llmchat' */
  clientName?: string;
  /**
   * Pre-registered clients, keyed by MCP server URL (as clients send it to `/connect`, or as the
   * host configured it). Used instead of a client ID metadata document or a registration.
   */
  clients?: Record<string, OAuthClientConfig>;
  /** How long an authorization started by `/connect` may take to come back to the callback. @default 600000 (10 min) */
  stateTtlMs?: number;
  /** How long stored tokens are kept without use (a refresh renews it). @default 2592000000 (30 days) */
  tokenTtlMs?: number;
  /** Access tokens this close to expiry are refreshed before use. @default 60000 */
  refreshSkewMs?: number;
}
