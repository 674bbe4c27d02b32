import { randomUUID } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { isLlmChatError } from '../../src/errors.js';
import { LockManager } from '../../src/lock/lock-manager.js';
import { RedisLockBackend } from '../../src/redis/redis-lock-backend.js';
import { turnLockKey } from '../../src/session/session-keys.js';
import { redisServerInstalled, startRedisServer, type ThrowawayRedis } from '../fixtures/redis-server.js';

// Locks must not outlive a Redis that stalls or goes away. Each case runs on a throwaway
// redis-server (CLIENT PAUSE and crashes would hurt everyone on the shared one).
const installed = redisServerInstalled();
if (!installed) {
  if (process.env.CI) throw new Error('redis-server is not installed: the Redis stall test cannot run.');
  console.warn('\n!!!!! Redis stall test SKIPPED: /usr/bin/redis-server is not installed. !!!!!\n');
}

const PREFIX = 'llmchat-stall:';
const LONG_LEASE_MS = 60_000;

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return isLlmChatError(error) ? error.code : String(error);
  }
  return 'resolved';
}

describe.skipIf(!installed)('locks and a stalled or restarted Redis', () => {
  let redis: ThrowawayRedis;
  const clients: Redis[] = [];
  const backends: RedisLockBackend[] = [];
  const connect = (options: RedisOptions = {}) => {
    const client = new Redis(redis.url, { maxRetriesPerRequest: 1, ...options });
    client.on('error', () => {});
    clients.push(client);
    return client;
  };
  const lockBackend = (client: Redis, operationTimeoutMs = 2000) => {
    const backend = new RedisLockBackend(client, { keyPrefix: PREFIX, operationTimeoutMs });
    backends.push(backend);
    return backend;
  };

  beforeAll(async () => {
    redis = await startRedisServer();
  }, 30_000);

  afterAll(async () => {
    await Promise.all(backends.map((backend) => backend.close()));
    for (const client of clients) client.disconnect();
    await redis?.close();
  });

  it('frees an acquisition that timed out when Redis runs it late (CLIENT PAUSE)', async () => {
    const admin = connect();
    const key = turnLockKey(`paused-${randomUUID()}`);
    const backend = lockBackend(connect(), 200);
    const redisKey = backend.redisKey(key);

    // Keyspace events prove the late SET really ran, and that the lock was then deleted.
    await admin.config('SET', 'notify-keyspace-events', 'K$g');
    const events: string[] = [];
    const watcher = connect();
    watcher.on('message', (_channel: string, event: string) => events.push(event));
    await watcher.subscribe(`__keyspace@0__:${redisKey}`);

    await admin.call('CLIENT', 'PAUSE', '1000', 'ALL');
    const code = await codeOf(new LockManager(backend).tryAcquire(key, { ttlMs: LONG_LEASE_MS }));
    expect(code).toBe('BACKEND_UNAVAILABLE');

    await vi.waitFor(() => expect(events.at(-1)).toBe('del'), { timeout: 8000, interval: 50 });
    expect(events.filter((event) => event !== 'expire')).toEqual(['set', 'del']);
    expect(await admin.exists(redisKey)).toBe(0);
    // Nobody is kept out: the next turn takes the lock at once.
    const lock = await new LockManager(lockBackend(connect())).tryAcquire(key, { ttlMs: 5000 });
    expect(lock).not.toBeNull();
    await lock?.release();
  });

  it('retries a release that failed while Redis was down, once Redis is back', async () => {
    const holderClient = connect();
    const key = turnLockKey(`restart-${randomUUID()}`);
    const holder = new LockManager(lockBackend(holderClient));
    const lock = await holder.acquire(key, { ttlMs: LONG_LEASE_MS });

    await redis.crash();
    await vi.waitFor(() => expect(holderClient.status).not.toBe('ready'), { timeout: 5000, interval: 20 });
    expect(await codeOf(lock.release())).toBe('BACKEND_UNAVAILABLE');
    // The append-only file brings the lock back with its 60 s lease.
    await redis.start();

    const observer = connect();
    await vi.waitFor(async () => expect(await observer.ping()).toBe('PONG'), { timeout: 10_000, interval: 100 });
    // Well before the lease ends, the holder's process has freed it by itself.
    await vi.waitFor(
      async () =>
        expect(await observer.exists(new RedisLockBackend(observer, { keyPrefix: PREFIX }).redisKey(key))).toBe(0),
      {
        timeout: 15_000,
        interval: 100,
      },
    );
    const next = await new LockManager(lockBackend(observer)).tryAcquire(key, { ttlMs: 5000 });
    expect(next).not.toBeNull();
    await next?.release();
  }, 40_000);
});
