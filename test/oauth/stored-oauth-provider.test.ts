/**
 * The storage-backed OAuthClientProvider on its own: what it hands the SDK, how it turns the
 * SDK's "redirect the user" into MCP_AUTHORIZATION_REQUIRED, step-up with the union of scopes,
 * and the bound on repeated authorizations.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createSealer } from '../../src/internal/seal.js';
import { LockManager } from '../../src/lock/lock-manager.js';
import { OAuthStore } from '../../src/oauth/oauth-store.js';
import { unionOfScopes } from '../../src/oauth/scopes.js';
import { StoredOAuthProvider } from '../../src/oauth/stored-oauth-provider.js';
import { memoryStorage } from '../../src/storage.js';

const SERVER = 'https://mcp.example/mcp';
const storage = memoryStorage();
afterAll(async () => {
  await storage.close();
});

function provider(userId = 'ann') {
  const deps = {
    store: new OAuthStore(storage.sessions, storage.locks, createSealer('key'), 60_000),
    locks: new LockManager(storage.locks),
    options: { redirectUrl: 'https://chat.example/oauth/callback' },
    fetch: () => Promise.reject(new Error('no network in this test')),
  };
  return { deps, provider: new StoredOAuthProvider(deps, { kind: 'user', userId }, SERVER) };
}

async function redirected(target: StoredOAuthProvider, scope?: string): Promise<URL> {
  const url = new URL('https://auth.example/authorize?client_id=c');
  if (scope) url.searchParams.set('scope', scope);
  try {
    await target.redirectToAuthorization(url);
  } catch (error) {
    const { code, details } = error as { code: string; details?: { authorization_url?: string } };
    expect(code).toBe('MCP_AUTHORIZATION_REQUIRED');
    return new URL(details?.authorization_url ?? '');
  }
  throw new Error('redirectToAuthorization did not throw');
}

describe('unionOfScopes', () => {
  it('joins scope lists without duplicates, in first-seen order', () => {
    expect(unionOfScopes('read write', 'write admin', undefined, '')).toBe('read write admin');
    expect(unionOfScopes(undefined, '  ')).toBeUndefined();
  });
});

describe('StoredOAuthProvider', () => {
  it('hides the refresh token from the SDK', async () => {
    const { provider: target } = provider(`u-${Math.random()}`);
    await target.saveTokens({ access_token: 'at', token_type: 'Bearer', refresh_token: 'rt', expires_in: 3600 });
    expect(await target.tokens()).toEqual({ access_token: 'at', token_type: 'Bearer', expires_in: 3600 });
  });

  it('turns a redirect into MCP_AUTHORIZATION_REQUIRED, asking for the granted scopes plus the new ones', async () => {
    const { provider: target } = provider(`u-${Math.random()}`);
    expect((await redirected(target, 'read')).searchParams.get('scope')).toBe('read');
    await target.saveTokens({ access_token: 'at', token_type: 'Bearer', scope: 'read' });
    expect((await redirected(target, 'write')).searchParams.get('scope')).toBe('read write');
  });

  it('refuses instead of sending the user back for scopes already granted', async () => {
    const { provider: target } = provider(`u-${Math.random()}`);
    await target.saveTokens({ access_token: 'at', token_type: 'Bearer', scope: 'read write' });
    await expect(
      target.redirectToAuthorization(new URL('https://auth.example/authorize?scope=write')),
    ).rejects.toMatchObject({
      code: 'MCP_UNAVAILABLE',
    });
  });

  it('bounds repeated authorizations of a user who already holds tokens', async () => {
    const { provider: target } = provider(`u-${Math.random()}`);
    await target.saveTokens({ access_token: 'at', token_type: 'Bearer' });
    for (let round = 0; round < 3; round++) {
      target.state();
      await target.saveCodeVerifier(`verifier-${round}`);
    }
    target.state();
    await expect(target.saveCodeVerifier('verifier-4')).rejects.toMatchObject({ code: 'MCP_UNAVAILABLE' });
  });

  it('stores the PKCE verifier under the state for the callback, bound to the user and server', async () => {
    const { deps, provider: target } = provider('bea');
    const state = target.state();
    await target.saveCodeVerifier('the-verifier');
    expect(await deps.store.consumePendingFlow(state, 'bea', 60_000)).toMatchObject({
      userId: 'bea',
      serverUrl: SERVER,
      codeVerifier: 'the-verifier',
    });
  });
});
