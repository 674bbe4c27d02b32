import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { isLlmChatError } from '../../src/errors.js';
import { LockManager } from '../../src/lock/lock-manager.js';
import { RedisLockBackend } from '../../src/redis/redis-lock-backend.js';
import { RedisSessionBackend } from '../../src/redis/redis-session-backend.js';
import { redisStorage } from '../../src/redis/redis-storage.js';
import { SessionStore } from '../../src/session/session-store.js';
import { runLockBackendContract } from '../contract/lock-backend.contract.js';
import { runSessionBackendContract } from '../contract/session-backend.contract.js';
import { REDIS_URL, requireRedis } from '../fixtures/shared-redis.js';

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
  const admin = client();
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 500);
    if (keys.length > 0) await admin.del(...keys);
    cursor = next;
  } while (cursor !== '0');
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

  describe('Redis specifics', () => {
    it('keeps every key under the prefix, one user in one hash tag, locks in their own namespace', async () => {
      const raw = client();
      const prefix = `${PREFIX}layout-${randomUUID()}:`;
      const storage = redisStorage(raw, { keyPrefix: prefix });
      const store = new SessionStore(storage.sessions);
      await store.createSession('alice@example.com', { servers: [], model: 'm', streaming: false });
      await store.appendTurn('alice@example.com', [{ role: 'user', content: 'hi' }]);
      const lock = await new LockManager(storage.locks).acquire('alice@example.com');
      const [, keys] = await raw.scan('0', 'MATCH', `${prefix}*`, 'COUNT', 1000);
      expect(keys.sort()).toEqual(
        [
          `${prefix}history:{alice%40example.com}`,
          `${prefix}lock:{alice%40example.com}`,
          `${prefix}seen:{alice%40example.com}`,
          `${prefix}session:{alice%40example.com}`,
        ].sort(),
      );
      const ttl = await raw.pttl(`${prefix}session:{alice%40example.com}`);
      expect(ttl).toBeGreaterThan(290_000);
      expect(ttl).toBeLessThanOrEqual(300_000);
      await lock.release();
      await storage.close();
      expect(await raw.ping()).toBe('PONG');
    });

    it('costs at most 6 commands for a plain chat turn', async () => {
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
        await store.requireSession(user);
        await locks.using(user, async () => {
          await store.getHistory(user);
          await store.appendTurn(user, [
            { role: 'user', content: `q${n}` },
            { role: 'assistant', content: `a${n}` },
          ]);
        });
      };
      await turn(0); // may load the scripts (NOSCRIPT, then EVAL) once
      counted.length = 0;
      await turn(1);
      expect(counted).toEqual(['get', 'set', 'lrange', 'evalsha', 'evalsha']);
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
