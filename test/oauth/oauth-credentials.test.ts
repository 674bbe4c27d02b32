/**
 * What the library forgets and what it keeps: a registration the authorization server rejects
 * is forgotten for everyone, and a pending authorization is taken only by the user who started it.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createChatHandler } from '../../src/http/create-chat-handler.js';
import { createSealer } from '../../src/internal/seal.js';
import { LockManager } from '../../src/lock/lock-manager.js';
import { OAuthStore } from '../../src/oauth/oauth-store.js';
import { StoredOAuthProvider } from '../../src/oauth/stored-oauth-provider.js';
import { memoryStorage } from '../../src/storage.js';
import type { FetchLike } from '../../src/types.js';
import { bearerUser, jsonRequest } from '../http/stack.js';
import { AUTH, DISCOVERY, SERVER } from './example-discovery.js';

const CALLBACK = 'http://local/oauth/callback';

function parts() {
  const storage = memoryStorage();
  const store = new OAuthStore(storage.sessions, storage.locks, createSealer('key'), 60_000);
  const deps = {
    store,
    locks: new LockManager(storage.locks),
    options: { redirectUrl: CALLBACK },
    fetch: () => Promise.reject(new Error('no network in this test')),
  };
  return { storage, store, deps };
}

describe('a rejected dynamic registration', () => {
  it('is forgotten by invalidateCredentials("all"), with the discovery that named it', async () => {
    const { storage, store, deps } = parts();
    const provider = new StoredOAuthProvider(deps, { kind: 'user', userId: 'ann' }, SERVER);
    await provider.saveDiscoveryState(DISCOVERY);
    await store.saveRegistration(AUTH, { client_id: 'dead-client', issuer: AUTH });
    await provider.saveTokens({ access_token: 'at', token_type: 'Bearer' });
    await provider.invalidateCredentials('all');
    expect(await store.getRegistration(AUTH)).toBeUndefined();
    expect(await store.getDiscovery(SERVER)).toBeUndefined();
    expect(await provider.tokens()).toBeUndefined();
    await storage.close();
  });

  it('is forgotten by invalidateCredentials("client"), the discovery kept', async () => {
    const { storage, store, deps } = parts();
    const provider = new StoredOAuthProvider(deps, { kind: 'user', userId: 'ann' }, SERVER);
    await provider.saveDiscoveryState(DISCOVERY);
    await store.saveRegistration(AUTH, { client_id: 'dead-client', issuer: AUTH });
    await provider.invalidateCredentials('client');
    expect(await store.getRegistration(AUTH)).toBeUndefined();
    expect(await store.getDiscovery(SERVER)).toEqual(DISCOVERY);
    await storage.close();
  });
});

describe('a pending authorization', () => {
  it('is left in place by another user’s attempt, and taken once by its owner', async () => {
    const { storage, store } = parts();
    const state = randomUUID();
    const flow = { userId: 'ann', serverUrl: SERVER, codeVerifier: 'verifier', createdAt: Date.now() };
    await store.savePendingFlow(state, flow, 60_000);
    expect(await store.consumePendingFlow(state, 'mallory', 60_000)).toBe('other-user');
    expect(await store.consumePendingFlow(state, 'ann', 60_000)).toEqual(flow);
    expect(await store.consumePendingFlow(state, 'ann', 60_000)).toBeUndefined();
    expect(await store.consumePendingFlow(state, 'mallory', 60_000)).toBeUndefined();
    await storage.close();
  });
});

describe('through the handler', () => {
  let handler: ReturnType<typeof createChatHandler> | undefined;
  afterEach(async () => {
    await handler?.close();
    handler = undefined;
  });

  /**
   * An MCP server behind an authorization server that registers clients on request and answers
   * the code exchange with `tokenAnswer`; counts registrations and the client ids sent for tokens.
   */
  function network(tokenAnswer: () => Response) {
    const seen = { registrations: 0, tokenClientIds: [] as (string | null)[] };
    const json = (body: unknown, status = 200) =>
      new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
    const fetch: FetchLike = async (input, init) => {
      const url = new URL(typeof input === 'string' ? input : input.href);
      if (url.href === SERVER) return new Response(null, { status: 401, headers: { 'www-authenticate': 'Bearer' } });
      if (url.pathname.startsWith('/.well-known/oauth-protected-resource')) {
        return json({ resource: SERVER, authorization_servers: [AUTH] });
      }
      if (url.pathname.startsWith('/.well-known/oauth-authorization-server')) {
        return json({ ...DISCOVERY.authorizationServerMetadata, code_challenge_methods_supported: ['S256'] });
      }
      if (url.href === `${AUTH}register`) {
        seen.registrations += 1;
        return json({ client_id: `client-${seen.registrations}`, redirect_uris: [CALLBACK] }, 201);
      }
      if (url.href === `${AUTH}token`) {
        seen.tokenClientIds.push(new URLSearchParams(String(init?.body)).get('client_id'));
        return tokenAnswer();
      }
      return new Response('not found', { status: 404 });
    };
    return { seen, fetch };
  }

  function start(fetch: FetchLike) {
    handler = createChatHandler({
      authenticate: bearerUser,
      models: [{ id: 'fake', provider: 'openai_compatible', baseUrl: 'http://127.0.0.1:9/v1', apiKey: 'sk-fake' }],
      mcp: { allowedUrls: [SERVER] },
      storage: memoryStorage(),
      sealKey: 'test-seal-key',
      keepAliveMs: 0,
      fetch,
      oauth: { redirectUrl: CALLBACK },
    });
    return handler;
  }

  async function authorizationUrl(target: ReturnType<typeof createChatHandler>, user = 'ann'): Promise<URL> {
    const response = await target.fetch(
      jsonRequest('/connect', user, { server: { url: SERVER }, llm: { model: 'fake' } }),
    );
    const body = (await response.json()) as { code?: string; authorization_url?: string };
    expect(body.code).toBe('MCP_AUTHORIZATION_REQUIRED');
    return new URL(body.authorization_url ?? '');
  }

  const land = (target: ReturnType<typeof createChatHandler>, state: string, user: string) =>
    target.fetch(jsonRequest(`/oauth/callback?${new URLSearchParams({ state, code: 'the-code' })}`, user));

  it('registers again once the authorization server rejected the registration', async () => {
    const { seen, fetch } = network(() =>
      Response.json({ error: 'invalid_client' }, { status: 401, headers: { 'content-type': 'application/json' } }),
    );
    const target = start(fetch);
    const first = await authorizationUrl(target);
    expect(first.searchParams.get('client_id')).toBe('client-1');
    expect((await land(target, first.searchParams.get('state') ?? '', 'ann')).status).toBe(400);
    expect(seen.tokenClientIds).toContain('client-1');
    // The next user is not sent out with the dead client id.
    const next = await authorizationUrl(target, 'bea');
    expect(next.searchParams.get('client_id')).not.toBe('client-1');
    expect(seen.registrations).toBe(2);
  });

  it('lets the owner complete an authorization another user tried to land first', async () => {
    const { seen, fetch } = network(() => Response.json({ access_token: 'at', token_type: 'Bearer' }));
    const target = start(fetch);
    const state = (await authorizationUrl(target)).searchParams.get('state') ?? '';
    const asMallory = await land(target, state, 'mallory');
    expect([asMallory.status, ((await asMallory.json()) as { code?: string }).code]).toEqual([403, 'FORBIDDEN']);
    expect(seen.tokenClientIds).toEqual([]);
    expect((await land(target, state, 'ann')).status).toBe(200);
    expect(seen.tokenClientIds).toEqual(['client-1']);
  });
});
