import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { isLlmChatError } from '../../src/errors.js';
import { LockManager } from '../../src/lock/lock-manager.js';
import { RedisLockBackend } from '../../src/redis/redis-lock-backend.js';
import { RedisSessionBackend } from '../../src/redis/redis-session-backend.js';
import { redisStorage } from '../../src/redis/redis-storage.js';
import { turnLockKey } from '../../src/session/session-keys.js';
import { SessionStore } from '../../src/session/session-store.js';
import type { ChatStorage } from '../../src/storage.js';
import { runLockBackendContract } from '../contract/lock-backend.contract.js';
import { runMessageBusContract } from '../contract/message-bus.contract.js';
import { runSessionBackendContract } from '../contract/session-backend.contract.js';
import { redisKeySlot } from '../fixtures/redis-key-slot.js';
import { deletePrefix, keysUnder, REDIS_URL, requireRedis } from '../fixtures/shared-redis.js';
import { jsonRequest, startStack } from '../http/stack.js';

const PREFIX = `llmchat-test:${randomUUID()}:`;

const available = await requireRedis('Redis backend tests');

const clients: Redis[] = [];
function client(): Redis {
  const created = new Redis(REDIS_URL);
  clients.push(created);
  return created;
}

afterAll(async () => {
  if (!available) return;
  await deletePrefix(client(), PREFIX);
  // quit() on a client that is not connected would wait in the offline queue: disconnect those.
  await Promise.all(clients.map((c) => (c.status === 'ready' ? c.quit() : c.disconnect())));
});

/** A TCP port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === 'object' && address !== null ? address.port : 0;
}

async function failure(promise: Promise<unknown>): Promise<{ code: string; ms: number }> {
  const started = Date.now();
  try {
    await promise;
  } catch (error) {
    return { code: isLlmChatError(error) ? error.code : String(error), ms: Date.now() - started };
  }
  return { code: 'resolved', ms: Date.now() - started };
}

describe.skipIf(!available)('Redis backends', () => {
  runSessionBackendContract('redis', async () => [
    new RedisSessionBackend(client(), { keyPrefix: PREFIX }),
    new RedisSessionBackend(client(), { keyPrefix: PREFIX }),
  ]);

  runLockBackendContract('redis', async () => [
    new RedisLockBackend(client(), { keyPrefix: PREFIX }),
    new RedisLockBackend(client(), { keyPrefix: PREFIX }),
  ]);

  const storages: ChatStorage[] = [];
  afterAll(async () => {
    await Promise.all(storages.map((storage) => storage.close()));
  });
  runMessageBusContract('redis', async () => {
    const pair: [ChatStorage, ChatStorage] = [
      redisStorage(client(), { keyPrefix: PREFIX }),
      redisStorage(client(), { keyPrefix: PREFIX }),
    ];
    storages.push(...pair);
    return [pair[0].bus, pair[1].bus];
  });

  describe('Redis specifics', () => {
    it('keeps every key under the prefix, all of one user in one hash slot, locks in their own namespace', async () => {
      const raw = client();
      const prefix = `${PREFIX}layout-${randomUUID()}:`;
      const storage = redisStorage(raw, { keyPrefix: prefix });
      const store = new SessionStore(storage.sessions);
      await store.createSession('alice@example.com', { servers: [], model: 'm', streaming: false });
      await store.appendTurn('alice@example.com', [{ role: 'user', content: 'hi' }]);
      const lock = await new LockManager(storage.locks).acquire(turnLockKey('alice@example.com'));
      const other = await new LockManager(storage.locks).acquire('plain key');
      const keys = await keysUnder(raw, prefix);
      expect(keys.sort()).toEqual(
        [
          `${prefix}{u:alice%40example.com}:history`,
          `${prefix}lock:{u:alice%40example.com}:turn`,
          `${prefix}{u:alice%40example.com}:seen`,
          `${prefix}{u:alice%40example.com}:session`,
          `${prefix}lock:{plain%20key}`,
        ].sort(),
      );
      const userKeys = keys.filter((key) => key.includes('alice'));
      expect(userKeys).toHaveLength(4);
      expect(new Set(userKeys.map(redisKeySlot)).size).toBe(1);
      await other.release();
      const ttl = await raw.pttl(`${prefix}{u:alice%40example.com}:session`);
      expect(ttl).toBeGreaterThan(290_000);
      expect(ttl).toBeLessThanOrEqual(300_000);
      await lock.release();
      await storage.close();
      expect(await raw.ping()).toBe('PONG');
    });

    it('reads keys of the wrong type as absent, replaces such a history, and fails none of it as unavailable', async () => {
      const raw = client();
      const prefix = `${PREFIX}types-${randomUUID()}:`;
      const storage = redisStorage(raw, { keyPrefix: prefix });
      storages.push(storage);
      const store = new SessionStore(storage.sessions);
      const config = { servers: [{ url: 'http://127.0.0.1:8000/mcp' }], model: 'm', streaming: false };
      const tools = [{ name: 'add', server: 0, inputSchema: { type: 'object' } }];
      const user = (name: string) => `${prefix}{u:${name}}`;
      // A session key holding a list, a history key holding a string.
      await raw.rpush(`${user('ann')}:session`, 'junk');
      await raw.set(`${user('ann')}:history`, 'junk');
      expect(await store.getSession('ann')).toBeNull();
      expect(await store.getHistory('ann')).toEqual([]);
      const both = store.readSessionAndHistory('ann');
      await expect(both.session).rejects.toMatchObject({ code: 'SESSION_NOT_FOUND' });
      expect(await both.history).toEqual([]);
      await store.createSession('ann', config);
      await store.appendTurn('ann', [{ role: 'user', content: 'hi' }]);
      expect(await store.getHistory('ann')).toEqual([{ role: 'user', content: 'hi' }]);
      // The shared tool list named by a session, replaced by a hash: its tools are listed again.
      await store.createSession('bob', config, { tools });
      const [listKey] = (await keysUnder(raw, prefix)).filter((key) => key.includes('tools:'));
      await raw.del(listKey as string);
      await raw.hset(listKey as string, 'junk', '1');
      const fresh = new SessionStore(storage.sessions);
      expect((await fresh.requireSession('bob')).tools).toBeUndefined();
      expect(await storage.sessions.take?.(`{u:bob}:history`)).toBeNull();
    });

    it('keeps bus channels under the key prefix, apart from other prefixes', async () => {
      const channel = `news-${randomUUID()}`;
      const mine = redisStorage(client(), { keyPrefix: `${PREFIX}bus-a:` });
      const theirs = redisStorage(client(), { keyPrefix: `${PREFIX}bus-b:` });
      storages.push(mine, theirs);
      const heard: string[] = [];
      const raw: string[] = [];
      const spy = client();
      spy.on('message', (name: string, message: string) => raw.push(`${name}=${message}`));
      await spy.subscribe(`${PREFIX}bus-a:${channel}`);
      const off = await mine.bus.subscribe(channel, (message) => heard.push(message));
      await theirs.bus.publish(channel, 'other app');
      await mine.bus.publish(channel, 'mine');
      await vi.waitFor(() => expect(heard).toEqual(['mine']), { timeout: 3000, interval: 10 });
      expect(raw).toEqual([`${PREFIX}bus-a:${channel}=mine`]);
      await off();
      await spy.unsubscribe();
    });

    it('subscribes through one duplicate connection made on first use, closed by close()', async () => {
      const name = `bus-${randomUUID().slice(0, 8)}`;
      const host = new Redis(REDIS_URL, { connectionName: name });
      clients.push(host);
      const admin = client();
      const connections = async () =>
        String(await admin.client('LIST'))
          .split('\n')
          .filter((line: string) => line.includes(` name=${name} `));
      const storage = redisStorage(host, { keyPrefix: PREFIX });
      await host.ping();
      expect(await connections()).toHaveLength(1);
      const offs = await Promise.all(Array.from({ length: 5 }, (_, i) => storage.bus.subscribe(`many-${i}`, () => {})));
      offs.push(await storage.bus.subscribe('many-0', () => {}));
      const lines = await connections();
      expect(lines).toHaveLength(2);
      expect(lines.some((line) => / sub=5 /.test(line))).toBe(true);
      await offs[0]?.();
      expect((await connections()).some((line) => / sub=5 /.test(line))).toBe(true);
      await offs[5]?.();
      await vi.waitFor(async () => expect((await connections()).some((line) => / sub=4 /.test(line))).toBe(true));
      await storage.close();
      await vi.waitFor(async () => expect(await connections()).toHaveLength(1));
      expect(host.status).toBe('ready');
    });

    it("uses the host's subscriber connection when given, and never closes it", async () => {
      const subscriber = client();
      const storage = redisStorage(client(), { keyPrefix: PREFIX, subscriber });
      const heard: string[] = [];
      const channel = `given-${randomUUID()}`;
      await storage.bus.subscribe(channel, (message) => heard.push(message));
      await storage.bus.publish(channel, 'via host subscriber');
      await vi.waitFor(() => expect(heard).toEqual(['via host subscriber']), { timeout: 3000, interval: 10 });
      await storage.close();
      expect(subscriber.status).toBe('ready');
      // Unsubscribed on close, so the connection can leave subscriber mode and be used again.
      await subscriber.unsubscribe();
      expect(await subscriber.ping()).toBe('PONG');
      await expect(storage.bus.subscribe(channel, () => {})).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
    });

    it('fails a subscription with BACKEND_UNAVAILABLE when Redis does not confirm it in time', async () => {
      const sockets: Socket[] = [];
      const silent: Server = createServer((socket) => sockets.push(socket));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const address = silent.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      const hung = new Redis({ host: '127.0.0.1', port });
      hung.on('error', () => {});
      clients.push(hung);
      const storage = redisStorage(hung, { keyPrefix: PREFIX, operationTimeoutMs: 200 });
      try {
        const result = await failure(storage.bus.subscribe('never', () => {}));
        expect(result.code).toBe('BACKEND_UNAVAILABLE');
        expect((await failure(storage.bus.publish('never', 'x'))).code).toBe('BACKEND_UNAVAILABLE');
      } finally {
        await storage.close();
        hung.disconnect();
        for (const socket of sockets) socket.destroy();
        await new Promise((resolve) => silent.close(resolve));
      }
    });

    it('costs 4 commands for the session, lock and history of a plain chat turn', async () => {
      const raw = client();
      const counted: string[] = [];
      const counting = new Proxy(raw, {
        get(target, property, receiver) {
          const value = Reflect.get(target, property, receiver);
          if (typeof value !== 'function' || typeof property !== 'string') return value;
          return (...args: unknown[]) => {
            counted.push(property);
            return value.apply(target, args);
          };
        },
      });
      const storage = redisStorage(counting, { keyPrefix: PREFIX });
      const store = new SessionStore(storage.sessions);
      const locks = new LockManager(storage.locks);
      const user = `budget-${randomUUID()}`;
      await store.createSession(user, { servers: [], model: 'm', streaming: false });
      const turn = async (n: number) => {
        await locks.using(user, async () => {
          const read = store.readSessionAndHistory(user);
          expect((await read.session).config.model).toBe('m');
          expect(await read.history).toHaveLength(2 * n);
          await store.appendTurn(user, [
            { role: 'user', content: `q${n}` },
            { role: 'assistant', content: `a${n}` },
          ]);
        });
      };
      await turn(0); // may load the scripts (NOSCRIPT, then EVAL) once
      counted.length = 0;
      await turn(1);
      // Lock, session + history in one script, the append, the release.
      expect(counted).toEqual(['set', 'evalsha', 'evalsha', 'evalsha']);
      expect(await store.getHistory(user)).toHaveLength(4);
    });

    it('aborts the function with LOCK_LOST when the lock key is deleted behind its back', async () => {
      const raw = client();
      const backend = new RedisLockBackend(raw, { keyPrefix: PREFIX });
      const key = `deleted-${randomUUID()}`;
      const reason = await new LockManager(backend).using(
        key,
        async (signal) => {
          await raw.del(backend.redisKey(key));
          return new Promise<unknown>((resolve) => {
            signal.addEventListener('abort', () => resolve(signal.reason), { once: true });
          });
        },
        { ttlMs: 5_000, extendEveryMs: 50 },
      );
      expect(isLlmChatError(reason) && reason.code).toBe('LOCK_LOST');
    });

    it('takes a lock whose key has no expiry (junk), never one a lease holds', async () => {
      const raw = client();
      const backend = new RedisLockBackend(raw, { keyPrefix: PREFIX });
      const locks = new LockManager(backend);
      for (const write of [(key: string) => raw.set(key, 'someone-else'), (key: string) => raw.hset(key, 'x', '1')]) {
        const key = `junk-${randomUUID()}`;
        await write(backend.redisKey(key));
        const lock = await locks.tryAcquire(key, { ttlMs: 5_000 });
        expect(lock).not.toBeNull();
        const ttl = await raw.pttl(backend.redisKey(key));
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(5_000);
        // Now a lease of ours: the next one waits for it.
        expect(await locks.tryAcquire(key)).toBeNull();
        expect(await lock?.release()).toBe(true);
      }
      const leased = `leased-${randomUUID()}`;
      await raw.set(backend.redisKey(leased), 'another-holder', 'PX', 5_000);
      expect(await locks.tryAcquire(leased)).toBeNull();
      expect(await raw.get(backend.redisKey(leased))).toBe('another-holder');
    });

    it("answers a user's send whose turn lock key holds junk without expiry, instead of 409 for ever", async () => {
      const raw = client();
      const prefix = `${PREFIX}junk-lock:`;
      const storage = redisStorage(raw, { keyPrefix: prefix });
      storages.push(storage);
      const stack = await startStack({ storage });
      try {
        const user = `jl-${randomUUID().slice(0, 8)}`;
        await raw.set(new RedisLockBackend(raw, { keyPrefix: prefix }).redisKey(turnLockKey(user)), 'junk');
        expect((await stack.handler.fetch(jsonRequest('/connect', user, { llm: { model: 'fake' } }))).status).toBe(200);
        const sent = await stack.handler.fetch(jsonRequest('/chat', user, { message: 'hi', streaming: false }));
        expect(sent.status).toBe(200);
        expect(await raw.pttl(new RedisLockBackend(raw, { keyPrefix: prefix }).redisKey(turnLockKey(user)))).toBe(-2);
      } finally {
        await stack.close();
      }
    });

    it('frees the lock of a holder whose client died, by its TTL', async () => {
      const crashing = new Redis(REDIS_URL);
      clients.push(crashing);
      const key = `crash-${randomUUID()}`;
      const held = await new LockManager(new RedisLockBackend(crashing, { keyPrefix: PREFIX })).acquire(key, {
        ttlMs: 200,
      });
      expect(held.key).toBe(key);
      crashing.disconnect();
      const survivor = new LockManager(new RedisLockBackend(client(), { keyPrefix: PREFIX }));
      const started = Date.now();
      const lock = await survivor.acquire(key, { waitMs: 3_000 });
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(await lock.release()).toBe(true);
    });

    it('fails fast with BACKEND_UNAVAILABLE when Redis is down (host-default client)', async () => {
      const port = await closedPort();
      // ioredis defaults: offline queue on, maxRetriesPerRequest 20, reconnect forever.
      const down = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 20 });
      down.on('error', () => {});
      clients.push(down);
      const storage = redisStorage(down, { keyPrefix: PREFIX });
      const store = new SessionStore(storage.sessions);
      const results = await Promise.all([
        failure(store.getSession('someone')),
        failure(new LockManager(storage.locks).acquire('someone')),
        failure(store.appendTurn('someone', [{ role: 'user', content: 'x' }])),
      ]);
      for (const result of results) {
        expect(result.code).toBe('BACKEND_UNAVAILABLE');
        expect(result.ms).toBeLessThan(3_000);
      }
      // Once ioredis has seen the refusal, requests fail without waiting for the timeout.
      const later = await failure(store.getSession('someone'));
      expect(later).toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
      expect(later.ms).toBeLessThan(100);
    });

    it('fails at once on a lazyConnect client that was never connected', async () => {
      const lazy = new Redis({ host: '127.0.0.1', port: await closedPort(), lazyConnect: true });
      clients.push(lazy);
      const result = await failure(new RedisSessionBackend(lazy, { keyPrefix: PREFIX }).get('k'));
      expect(result.code).toBe('BACKEND_UNAVAILABLE');
      expect(result.ms).toBeLessThan(100);
    });

    it('gives up after operationTimeoutMs when Redis accepts but never answers', async () => {
      const sockets: Socket[] = [];
      const silent: Server = createServer((socket) => sockets.push(socket));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const address = silent.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      const hung = new Redis({ host: '127.0.0.1', port });
      hung.on('error', () => {});
      clients.push(hung);
      try {
        const result = await failure(new RedisSessionBackend(hung, { operationTimeoutMs: 200 }).get('k'));
        expect(result.code).toBe('BACKEND_UNAVAILABLE');
        expect(result.ms).toBeGreaterThanOrEqual(150);
        expect(result.ms).toBeLessThan(1_000);
      } finally {
        hung.disconnect();
        for (const socket of sockets) socket.destroy();
        await new Promise((resolve) => silent.close(resolve));
      }
    });
  });
});
