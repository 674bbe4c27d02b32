import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { isLlmChatError } from '../../src/errors.js';
import type { RedisClientLike } from '../../src/redis/redis-client.js';
import { RedisLockBackend } from '../../src/redis/redis-lock-backend.js';
import { RedisTurnBackend } from '../../src/redis/redis-turn-backend.js';
import { turnLockKey } from '../../src/session/session-keys.js';
import { redisServerInstalled, startRedisServer, type ThrowawayRedis } from '../fixtures/redis-server.js';

// A Redis that stops answering while its connection stays up (paused, swapping, DEBUG SLEEP)
// keeps the ioredis client `ready`: without a breaker, every request's commands queue up in the
// client, each waits its whole timeout, and all of them run late once Redis answers again.

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return isLlmChatError(error) ? error.code : String(error);
  }
  return 'resolved';
}

/** `client`, counting the commands really handed to it. */
function counting(client: RedisClientLike): { client: RedisClientLike; sent: () => number } {
  let sent = 0;
  const forward =
    (name: 'get' | 'set' | 'evalsha' | 'eval') =>
    (...args: unknown[]) => {
      sent += 1;
      return (client[name] as (...a: unknown[]) => Promise<unknown>).apply(client, args);
    };
  const wrapped = {
    get status() {
      return client.status;
    },
    get: forward('get'),
    set: forward('set'),
    evalsha: forward('evalsha'),
    eval: forward('eval'),
  };
  return { client: wrapped as unknown as RedisClientLike, sent: () => sent };
}

describe('the stall breaker of one client', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('lets one probe through after a while, and flows again once it is answered (never wedged)', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    let answering = false;
    const get = vi.fn(() => (answering ? Promise.resolve('v') : new Promise<string>(() => {})));
    // A command whose promise never settles: only a probe can tell the stall is over.
    const client = { status: 'ready', get } as unknown as RedisClientLike;
    const turns = new RedisTurnBackend(client, { keyPrefix: 'probe:', operationTimeoutMs: 100 });

    const first = codeOf(turns.get('k'));
    await vi.advanceTimersByTimeAsync(100);
    expect(await first).toBe('BACKEND_UNAVAILABLE');
    // Refused without being sent while the timed-out command is unanswered.
    const refused = codeOf(turns.get('k'));
    expect(get).toHaveBeenCalledTimes(1);
    expect(await refused).toBe('BACKEND_UNAVAILABLE');

    // A probe that times out too keeps the breaker open.
    await vi.advanceTimersByTimeAsync(100);
    const probe = codeOf(turns.get('k'));
    const refusedDuringProbe = codeOf(turns.get('k'));
    expect(get).toHaveBeenCalledTimes(2);
    expect(await refusedDuringProbe).toBe('BACKEND_UNAVAILABLE');
    await vi.advanceTimersByTimeAsync(100);
    expect(await probe).toBe('BACKEND_UNAVAILABLE');

    await vi.advanceTimersByTimeAsync(100);
    answering = true;
    expect(await turns.get('k')).toBe('v');
    expect(await turns.get('k')).toBe('v');
    expect(get).toHaveBeenCalledTimes(4);
  });
});

const installed = redisServerInstalled();
if (!installed) {
  if (process.env.CI) throw new Error('redis-server is not installed: the Redis stall breaker test cannot run.');
  console.warn('\n!!!!! Redis stall breaker test SKIPPED: /usr/bin/redis-server is not installed. !!!!!\n');
}

describe.skipIf(!installed)('a stalled Redis (CLIENT PAUSE)', () => {
  let redis: ThrowawayRedis;
  const clients: Redis[] = [];
  const connect = () => {
    const client = new Redis(redis.url);
    client.on('error', () => {});
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    redis = await startRedisServer();
  }, 30_000);

  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await redis?.close();
  });

  it('fails later commands at once instead of queueing them, and frees a lock released meanwhile', async () => {
    const prefix = `llmchat-breaker:${randomUUID()}:`;
    const counted = counting(connect());
    const options = { keyPrefix: prefix, operationTimeoutMs: 200 };
    const turns = new RedisTurnBackend(counted.client, options);
    const locks = new RedisLockBackend(counted.client, options);
    const key = turnLockKey(`breaker-${randomUUID()}`);
    // A lease far longer than the test: the lock must go because its release is retried.
    expect(await locks.tryAcquire(key, 'holder', 60_000)).toBe(true);
    await turns.set('k', 'v', 60_000);

    const admin = connect();
    await admin.call('CLIENT', 'PAUSE', '2500', 'ALL');
    // Settles only once Redis answers again: what happens before it happened during the stall.
    let resumed = false;
    connect()
      .ping()
      .then(
        () => {
          resumed = true;
        },
        () => {},
      );

    const before = counted.sent();
    expect(await codeOf(turns.get('k'))).toBe('BACKEND_UNAVAILABLE');
    const refused = await Promise.all(Array.from({ length: 50 }, () => codeOf(turns.get('k'))));
    expect(new Set(refused)).toEqual(new Set(['BACKEND_UNAVAILABLE']));
    expect(await codeOf(locks.release(key, 'holder'))).toBe('BACKEND_UNAVAILABLE');
    expect(resumed).toBe(false);
    // The one that timed out, and at most one probe: not 52 commands waiting to run late.
    expect(counted.sent() - before).toBeLessThanOrEqual(2);

    // Once Redis answers, commands flow again, and the release retried in the background frees
    // the lock long before its lease would end.
    await vi.waitFor(async () => expect(await turns.get('k')).toBe('v'), { timeout: 10_000, interval: 100 });
    await vi.waitFor(async () => expect(await admin.exists(locks.redisKey(key))).toBe(0), {
      timeout: 10_000,
      interval: 100,
    });
    await locks.close();
  });
});
