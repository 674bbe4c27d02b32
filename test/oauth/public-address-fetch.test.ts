/**
 * OAuth requests to a public host name, when the host gave no fetch: the name is resolved in the
 * connect step and the connection refused when it resolves to an address the OAuth URL policy
 * would refuse as a literal (SSRF through DNS). No real DNS: a fake resolver maps the test names,
 * and a local server shows whether anything was connected to.
 */
import type { LookupAddress } from 'node:dns';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LockManager } from '../../src/lock/lock-manager.js';
import { OAuthManager } from '../../src/oauth/oauth-manager.js';
import {
  addressClassOf,
  checkedLookup,
  createPublicAddressFetch,
  type PublicAddressFetch,
  type ResolveAll,
} from '../../src/oauth/public-address-fetch.js';
import { memoryStorage } from '../../src/storage.js';
import type { FetchLike } from '../../src/types.js';

const PUBLIC_SERVER = 'https://mcp.example.test/mcp';

/** Resolves names from a table, as `dns.lookup` with `all: true` would. */
function fakeResolve(table: Record<string, string[]>): ResolveAll {
  return async (hostname) => {
    const addresses = table[hostname];
    if (!addresses) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
}

/** What `checkedLookup` answers for `hostname`: the addresses it lets through, or its error. */
function lookUp(
  resolve: ResolveAll,
  serverNetwork: Parameters<typeof checkedLookup>[1],
  options: { all?: boolean; family?: number } = { all: true },
): Promise<LookupAddress[] | string | Error> {
  return new Promise((done) => {
    checkedLookup(resolve, serverNetwork)('auth.example.test', options, (error, address, family) => {
      if (error) done(error);
      else done(typeof address === 'string' ? `${address}/${family}` : address);
    });
  });
}

describe('checkedLookup', () => {
  it('lets a name through when all its addresses are public, answering as net.connect asks', async () => {
    const resolve = fakeResolve({ 'auth.example.test': ['93.184.216.34', '2606:2800:220:1::248'] });
    expect(await lookUp(resolve, 'public')).toEqual([
      { address: '93.184.216.34', family: 4 },
      { address: '2606:2800:220:1::248', family: 6 },
    ]);
    expect(await lookUp(resolve, 'public', {})).toBe('93.184.216.34/4');
    expect(await lookUp(resolve, 'public', { all: true, family: 6 })).toEqual([
      { address: '2606:2800:220:1::248', family: 6 },
    ]);
  });

  it.each([
    ['loopback', ['127.0.0.1']],
    ['private', ['10.1.2.3']],
    ['cloud metadata', ['169.254.169.254']],
    ['IPv6 loopback', ['::1']],
    ['IPv4-mapped IPv6 loopback', ['::ffff:127.0.0.1']],
    ['IPv6 unique local', ['fd00::1']],
    ['scoped IPv6 link-local', ['fe80::1%eth0']],
    ['mixed IPv4 (one public, one private)', ['8.8.8.8', '10.0.0.1']],
    ['mixed IPv6 (one public, one loopback)', ['2606:4700::1111', '::1']],
    ['mixed families (public IPv4, link-local IPv6)', ['8.8.8.8', 'fe80::1']],
  ])('refuses a name resolving to %s, for a public MCP server', async (_label, addresses) => {
    const answer = await lookUp(fakeResolve({ 'auth.example.test': addresses }), 'public');
    expect(answer).toBeInstanceOf(Error);
    expect(String(answer)).not.toContain('auth.example.test');
    expect(String(answer)).not.toContain(addresses[0]);
  });

  it('allows the MCP server’s own kind of network, and only that one', async () => {
    expect(await lookUp(fakeResolve({ 'auth.example.test': ['127.0.0.1', '::1'] }), 'loopback')).toHaveLength(2);
    expect(await lookUp(fakeResolve({ 'auth.example.test': ['10.0.0.5', '8.8.8.8'] }), 'private')).toHaveLength(2);
    expect(await lookUp(fakeResolve({ 'auth.example.test': ['127.0.0.1', '10.0.0.5'] }), 'loopback')).toBeInstanceOf(
      Error,
    );
  });

  it('passes resolution failures on as they are', async () => {
    const answer = await lookUp(fakeResolve({}), 'public');
    expect((answer as NodeJS.ErrnoException).code).toBe('ENOTFOUND');
  });

  it('reads addresses as dns.lookup spells them', () => {
    expect(addressClassOf('::ffff:10.0.0.1')).toBe('private');
    expect(addressClassOf('2001:4860:4860::8888')).toBe('public');
    expect(addressClassOf('fe80::1%eth0')).toBeUndefined();
  });
});

describe('OAuth requests over checked connections', () => {
  let server: Server;
  let port = 0;
  const received: string[] = [];
  let connections = 0;
  const fetches: PublicAddressFetch[] = [];
  const storages: ReturnType<typeof memoryStorage>[] = [];
  // The test's names all lead to the local server; only the check decides whether it is reached.
  const resolve = fakeResolve({
    'auth.example.test': ['127.0.0.1'],
    'mixed.example.test': ['8.8.8.8', '127.0.0.1'],
  });
  const publicFetch = () => {
    const made = createPublicAddressFetch({ resolve });
    fetches.push(made);
    return made;
  };

  beforeAll(async () => {
    server = createServer((request, response) => {
      received.push(`${request.method} ${request.url}`);
      response.setHeader('content-type', 'application/json');
      response.end('{"ok":true}');
    });
    server.on('connection', () => connections++);
    await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
    port = (server.address() as AddressInfo).port;
  });
  afterEach(async () => {
    await Promise.all(fetches.splice(0).map((made) => made.close()));
    await Promise.all(storages.splice(0).map((storage) => storage.close()));
    received.length = 0;
    connections = 0;
  });
  afterAll(async () => {
    await new Promise((closed) => server.close(closed));
  });

  it('refuses a public MCP server’s OAuth request to a name resolving to the loopback, connecting to nothing', async () => {
    const fetch = publicFetch().forServer('public');
    for (const host of ['auth.example.test', 'mixed.example.test']) {
      const failure = await fetch(`http://${host}:${port}/token`, { method: 'POST', body: 'grant_type=x' }).then(
        () => undefined,
        (error: unknown) => error as { code?: string; message?: string },
      );
      expect(failure?.code).toBe('SERVER_NOT_ALLOWED');
      expect(failure?.message).not.toContain(host);
      expect(failure?.message).not.toContain(String(port));
    }
    expect(received).toEqual([]);
    expect(connections).toBe(0);
  });

  it('connects to the address it checked, for a server on that same kind of network', async () => {
    const response = await publicFetch().forServer('loopback')(`http://auth.example.test:${port}/token`);
    expect(response).toBeInstanceOf(Response);
    expect(await response.json()).toEqual({ ok: true });
    expect(received).toEqual(['GET /token']);
  });

  /** The OAuth fetch of a connection to `serverUrl`, with the handler's fetch recorded. */
  function oauthFetchOf(serverUrl: string, withPublicFetch: boolean) {
    const calls: string[] = [];
    const handlerFetch: FetchLike = async (input) => {
      calls.push(String(input));
      return new Response('{}', { headers: { 'content-type': 'application/json' } });
    };
    const storage = memoryStorage();
    storages.push(storage);
    const manager = new OAuthManager({
      options: { redirectUrl: 'https://chat.example.test/oauth/callback' },
      sealKey: 'test-seal-key',
      storage,
      locks: new LockManager(storage.locks),
      fetch: handlerFetch,
      allowedUrls: [serverUrl],
      ...(withPublicFetch ? { publicFetch: publicFetch() } : {}),
    });
    const connection = manager.connectionFor('ann', { url: serverUrl });
    if (!connection) throw new Error('no OAuth connection');
    return { calls, oauthFetch: connection.provider.oauthFetch };
  }

  it('sends a provider’s request allowed only for its public name through the check', async () => {
    const { calls, oauthFetch } = oauthFetchOf(PUBLIC_SERVER, true);
    // https: the refusal comes before any connection, so no TLS is needed to see it.
    const failure = await oauthFetch(`https://auth.example.test:${port}/token`, { method: 'POST' }).catch(
      (error: unknown) => error as { code?: string },
    );
    expect((failure as { code?: string }).code).toBe('SERVER_NOT_ALLOWED');
    expect(calls).toEqual([]);
    expect(connections).toBe(0);
  });

  it('keeps the server’s own origin and literal addresses on the handler’s fetch', async () => {
    const { calls, oauthFetch } = oauthFetchOf('http://127.0.0.1:3000/mcp', true);
    await oauthFetch('http://127.0.0.1:3000/.well-known/oauth-protected-resource/mcp');
    await oauthFetch('http://localhost:9000/token');
    expect(calls).toEqual([
      'http://127.0.0.1:3000/.well-known/oauth-protected-resource/mcp',
      'http://localhost:9000/token',
    ]);
  });

  it('leaves every request to the host’s fetch when the host gave one (no check of ours)', async () => {
    const { calls, oauthFetch } = oauthFetchOf(PUBLIC_SERVER, false);
    const response = await oauthFetch(`https://auth.example.test:${port}/token`, { method: 'POST' });
    expect(response.status).toBe(200);
    expect(calls).toEqual([`https://auth.example.test:${port}/token`]);
    expect(connections).toBe(0);
  });
});
