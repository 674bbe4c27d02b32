import type { LockManager } from '../lock/lock-manager.js';
import type { FetchLike, Logger } from '../types.js';
import type { OAuthOptions } from './oauth-options.js';
import type { OAuthStore } from './oauth-store.js';

/**
 * What every `StoredOAuthProvider` shares, built once per handler. In its own file so the
 * refresh code can name it without importing the provider that imports it.
 * @internal
 */
export interface OAuthProviderDeps {
  store: OAuthStore;
  locks: LockManager;
  options: OAuthOptions;
  fetch: FetchLike;
  logger?: Logger;
}
