import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, expect, it } from 'vitest';
import { memoryRateWindow } from '../../src/limits/memory-rate-window.js';
import { redisRateWindow } from '../../src/redis/redis-rate-window.js';
import { RedisUsageBackend } from '../../src/redis/redis-usage-backend.js';
import { ADD_COUNTERS, runScript } from '../../src/redis/redis-usage-scripts.js';
import { MemoryUsageBackend } from '../../src/usage/memory-usage-backend.js';
import { deletePrefix, REDIS_URL, requireRedis } from '../fixtures/shared-redis.js';
import { rawRedisStore, runUsageContract } from './usage-contract.js';

const PREFIX = `llmchat-test:usage:${randomUUID()}:`;
const memoryBackends: MemoryUsageBackend[] = [];
const clients: Redis[] = [];

runUsageContract('memory', async () => {
  const usage = new MemoryUsageBackend();
  memoryBackends.push(usage);
  const windows = memoryRateWindow();
  return { usage: [usage, usage], windows: [windows, windows] };
});

if (await requireRedis('Redis usage backend tests')) {
  runUsageContract('redis', async () => {
    const [one, two] = [new Redis(REDIS_URL), new Redis(REDIS_URL)];
    clients.push(one, two);
    const options = { keyPrefix: PREFIX };
    return {
      usage: [new RedisUsageBackend(one, options), new RedisUsageBackend(two, options)],
      windows: [redisRateWindow(one, options), redisRateWindow(two, options)],
      raw: rawRedisStore(one, PREFIX),
    };
  });

  it('redis: the counter script refuses malformed arguments before writing anything', async () => {
    const client = new Redis(REDIS_URL);
    clients.push(client);
    const tag = `${PREFIX}{u-${randomUUID()}}`;
    const keys = [`${tag}:a`, `${tag}:b`];
    // The second key's amount is not a whole number: the first key must not be written either.
    for (const bad of ['x', '1.5', '-1', '1e+21']) {
      await expect(runScript(client, ADD_COUNTERS, keys, [60_000, 1, 'n', 5, 60_000, 1, 'n', bad])).rejects.toThrow(
        /malformed arguments/,
      );
    }
    await expect(runScript(client, ADD_COUNTERS, keys, [60_000, 1, 'n', 5, 'soon', 1, 'n', 5])).rejects.toThrow(
      /malformed arguments/,
    );
    expect(await client.exists(...keys)).toBe(0);
  });

  it('redis: the rate window defines nothing on the host client', async () => {
    const client = new Redis(REDIS_URL);
    clients.push(client);
    const windows = redisRateWindow(client, { keyPrefix: PREFIX });
    expect((await windows.consume(`w-${randomUUID()}`, 2, 60_000)).allowed).toBe(true);
    expect('rlflxIncr' in client).toBe(false);
  });

  it('redis: a window key holding junk starts its window over instead of failing every request', async () => {
    const client = new Redis(REDIS_URL);
    clients.push(client);
    const windows = redisRateWindow(client, { keyPrefix: PREFIX });
    for (const write of [
      (key: string) => client.set(key, 'junk'),
      (key: string) => client.hset(key, 'x', '1'),
      // A count no request makes: it would let the user past the limit for the whole window.
      (key: string) => client.set(key, '-1000000'),
    ]) {
      const user = `w-${randomUUID()}`;
      // rate-limiter-flexible's key: the prefix, points and seconds, then the user's key.
      const key = `${PREFIX}limits:req:2:60:${user}`;
      await write(key);
      expect(await windows.consume(user, 2, 60_000)).toMatchObject({ allowed: true });
      expect(await windows.consume(user, 2, 60_000)).toMatchObject({ allowed: true });
      expect(await windows.consume(user, 2, 60_000)).toMatchObject({ allowed: false });
      expect(await client.pttl(key)).toBeGreaterThan(0);
    }
  });
}

afterAll(async () => {
  await Promise.all(memoryBackends.map((backend) => backend.close()));
  if (clients[0]) await deletePrefix(clients[0], PREFIX);
  await Promise.all(clients.map((client) => client.quit()));
});
