import { randomUUID } from 'node:crypto';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe } from 'vitest';
import { redisRateWindow } from '../../src/redis/redis-rate-window.js';
import { RedisUsageBackend } from '../../src/redis/redis-usage-backend.js';
import { redisClusterInstallable, startRedisCluster, type ThrowawayRedisCluster } from '../fixtures/redis-cluster.js';
import { rawRedisStore, runUsageContract } from './usage-contract.js';

// The usage and rate-window contract, unchanged, on a real Redis Cluster started for this file:
// a counter script touching two slots would fail with CROSSSLOT, so the ledger's writes and
// reads (all of one user's keys in one script) prove the keys share the user's hash tag.
const installed = redisClusterInstallable();
if (!installed) {
  if (process.env.CI) throw new Error('redis-server/redis-cli are not installed: the Redis Cluster suite cannot run.');
  console.warn('\n!!!!! Usage on Redis Cluster SKIPPED: redis-server or redis-cli is not installed. !!!!!\n');
}

const PREFIX = `llmchat-cluster-usage:${randomUUID()}:`;

describe.skipIf(!installed)('usage backends on Redis Cluster', () => {
  let cluster: ThrowawayRedisCluster;
  const clients: Cluster[] = [];
  const client = () => {
    const created = new Cluster(cluster.startupNodes);
    clients.push(created);
    return created;
  };

  beforeAll(async () => {
    cluster = await startRedisCluster();
  }, 60_000);

  afterAll(async () => {
    for (const created of clients) created.disconnect();
    await cluster?.close();
  });

  runUsageContract('redis cluster', async () => {
    const [one, two] = [client(), client()];
    const options = { keyPrefix: PREFIX };
    return {
      usage: [new RedisUsageBackend(one, options), new RedisUsageBackend(two, options)],
      windows: [redisRateWindow(one, options), redisRateWindow(two, options)],
      raw: rawRedisStore(one, PREFIX),
    };
  });
});
