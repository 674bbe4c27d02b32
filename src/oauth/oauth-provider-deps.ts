import type { LockManager } from '../lock/lock-manager.js';
import type { FetchLike, Logger } from '../types.js';
import type { OAuthOptions } from './oauth-options.js';
import type { OAuthStore } from './oauth-store.js';
import type { PublicAddressFetch } from './public-address-fetch.js';

/**
 * What every `StoredOAuthProvider` shares, built once per handler. In its own file so the
 * refresh code can name it without importing the provider that imports it.
 * @internal
 */
export interface OAuthProviderDeps {
  store: OAuthStore;
  locks: LockManager;
  options: OAuthOptions;
  /** The handler's fetch (no redirects); OAuth requests go through a provider's `oauthFetch` on top of it. */
  fetch: FetchLike;
  /**
   * The host's normalized `mcp.allowedUrls` (its default server included): OAuth URLs under it
   * are allowed wherever they are (see `isOAuthUrlAllowed`). @default []
   */
  allowedUrls?: readonly string[];
  /**
   * Set when the host gave no `fetch`: OAuth URLs allowed only because their host is public go
   * through it, which checks the addresses their names resolve to (see `guardOAuthFetch`).
   */
  publicFetch?: PublicAddressFetch;
  logger?: Logger;
}
