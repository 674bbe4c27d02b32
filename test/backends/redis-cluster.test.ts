import { randomUUID } from 'node:crypto';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
import { redisClusterInstallable, startRedisCluster, type ThrowawayRedisCluster } from '../fixtures/redis-cluster.js';

// The session, lock and bus contracts, unchanged, on a real Redis Cluster (3 masters, 3
// replicas) started for this file. A Lua script touching keys of two slots fails there with
// CROSSSLOT, so the session contract alone proves every script is single-slot.
const installed = redisClusterInstallable();
if (!installed) {
  if (process.env.CI) throw new Error('redis-server/redis-cli are not installed: the Redis Cluster suite cannot run.');
  console.warn('\n!!!!! Redis Cluster suite SKIPPED: redis-server or redis-cli is not installed. !!!!!\n');
}

const PREFIX = `llmchat-cluster:${randomUUID()}:`;

describe.skipIf(!installed)('Redis Cluster backends', () => {
  let cluster: ThrowawayRedisCluster;
  const clients: Cluster[] = [];
  const storages: ChatStorage[] = [];
  const client = () => {
    const created = new Cluster(cluster.startupNodes);
    clients.push(created);
    return created;
  };

  beforeAll(async () => {
    cluster = await startRedisCluster();
  }, 120_000);

  afterAll(async () => {
    await Promise.all(storages.map((storage) => storage.close()));
    for (const created of clients) created.disconnect();
    await cluster?.close();
  });

  runSessionBackendContract('redis cluster', async () => [
    new RedisSessionBackend(client(), { keyPrefix: PREFIX }),
    new RedisSessionBackend(client(), { keyPrefix: PREFIX }),
  ]);

  runLockBackendContract('redis cluster', async () => [
    new RedisLockBackend(client(), { keyPrefix: PREFIX }),
    new RedisLockBackend(client(), { keyPrefix: PREFIX }),
  ]);

  runMessageBusContract('redis cluster', async () => {
    const pair: [ChatStorage, ChatStorage] = [
      redisStorage(client(), { keyPrefix: PREFIX }),
      // A Cluster of the host's as the subscriber connection, the other one duplicated.
      redisStorage(client(), { keyPrefix: PREFIX, subscriber: client() }),
    ];
    storages.push(...pair);
    return [pair[0].bus, pair[1].bus];
  });

  it("keeps a user's session, history, marker and turn lock on one master", async () => {
    const raw = client();
    const storage = redisStorage(raw, { keyPrefix: PREFIX });
    storages.push(storage);
    const store = new SessionStore(storage.sessions);
    const users = Array.from({ length: 12 }, (_, i) => `user-${i}-${randomUUID()}`);
    const masters = new Set<number>();
    for (const user of users) {
      await store.createSession(user, { servers: [], model: 'm', streaming: false });
      await store.appendTurn(user, [{ role: 'user', content: 'hi' }]);
      const lock = await new LockManager(storage.locks).acquire(turnLockKey(user));
      const lockKey = new RedisLockBackend(raw, { keyPrefix: PREFIX }).redisKey(turnLockKey(user));
      const keys = [lockKey, ...['session', 'history', 'seen'].map((kind) => `${PREFIX}{u:${user}}:${kind}`)];
      const owners = new Set(await Promise.all(keys.map((key) => cluster.masterPortOf(key))));
      expect(owners.size, keys.join(', ')).toBe(1);
      masters.add([...owners][0] as number);
      // The keys really are there, so the check above is about live data.
      expect(await raw.exists(...keys.slice(0, 1))).toBe(1);
      await lock.release();
    }
    // Users spread over the masters: the tag is per user, not one slot for everybody.
    expect(masters.size).toBeGreaterThan(1);
  });
});
