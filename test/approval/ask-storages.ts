import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll } from 'vitest';
import { redisStorage } from '../../src/redis/redis-storage.js';
import { type ChatStorage, memoryStorage } from '../../src/storage.js';
import { deletePrefix, REDIS_URL, requireRedis } from '../fixtures/shared-redis.js';

/** Two processes' storages: the same memory storage twice, or two Redis clients on one prefix. */
export type Processes = () => [ChatStorage, ChatStorage];

/**
 * The storages the ask tests run on: memory, and two processes on a real Redis when it answers
 * (`label` names the skip when it does not). Everything made is closed, and the Redis keys
 * deleted, after the file's tests. Call at the top of a test file.
 */
export async function askStorages(label: string): Promise<{
  setups: Array<[string, Processes]>;
  /** Registers a storage a test made itself, to be closed with the others. */
  keep(storage: ChatStorage): ChatStorage;
}> {
  const prefix = `llmchat-test:${randomUUID()}:`;
  const redisAvailable = await requireRedis(label);
  const clients: Redis[] = [];
  const storages: ChatStorage[] = [];
  afterAll(async () => {
    await Promise.all(storages.map((storage) => storage.close()));
    if (clients[0]) await deletePrefix(clients[0], prefix);
    await Promise.all(clients.map((client) => client.quit()));
  });
  const keep = (storage: ChatStorage) => {
    storages.push(storage);
    return storage;
  };
  const setups: Array<[string, Processes]> = [
    [
      'memory',
      () => {
        const storage = keep(memoryStorage());
        return [storage, storage];
      },
    ],
  ];
  if (redisAvailable) {
    setups.push([
      'redis, two processes',
      () => {
        const [first, second] = [0, 1].map(() => {
          const client = new Redis(REDIS_URL);
          clients.push(client);
          return keep(redisStorage(client, { keyPrefix: prefix }));
        });
        return [first as ChatStorage, second as ChatStorage];
      },
    ]);
  }
  return { setups, keep };
}
