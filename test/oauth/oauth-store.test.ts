/**
 * The OAuth records in both storages, memory and real Redis: sealed at rest, unreadable with
 * another key, and a pending authorization taken out exactly once by concurrent callbacks.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createSealer } from '../../src/internal/seal.js';
import { OAuthStore } from '../../src/oauth/oauth-store.js';
import { redisStorage } from '../../src/redis/redis-storage.js';
import { type ChatStorage, memoryStorage } from '../../src/storage.js';
import { deletePrefix, REDIS_URL, requireRedis } from '../fixtures/shared-redis.js';

const redisAvailable = await requireRedis('OAuth store on Redis');
const PREFIX = `llmchat-oauth-store:${randomUUID()}:`;
const redis = redisAvailable ? new Redis(REDIS_URL) : undefined;

afterAll(async () => {
  if (redis) {
    await deletePrefix(redis, PREFIX);
    await redis.quit();
  }
});

const backends: [string, () => ChatStorage][] = [['memory', () => memoryStorage()]];
if (redis) backends.push(['redis', () => redisStorage(redis, { keyPrefix: PREFIX })]);

describe.each(backends)('OAuthStore on %s', (_name, makeStorage) => {
  const owner = { kind: 'user' as const, userId: `ann-${randomUUID()}` };
  const server = 'https://mcp.example/mcp';

  it('keeps tokens sealed, and another key cannot read them', async () => {
    const storage = makeStorage();
    const written: string[] = [];
    const sessions = storage.sessions;
    const spy = { ...sessions, get: sessions.get.bind(sessions), delete: sessions.delete.bind(sessions) };
    spy.set = async (key, value, ttlMs) => {
      written.push(value);
      await sessions.set(key, value, ttlMs);
    };
    const store = new OAuthStore(spy, storage.locks, createSealer('key-one'), 60_000);
    await store.saveTokens(owner, server, {
      access_token: 'at-secret',
      token_type: 'Bearer',
      refresh_token: 'rt-secret',
    });
    expect(written.join('')).not.toContain('secret');
    expect((await store.getTokens(owner, server))?.refresh_token).toBe('rt-secret');
    const otherKey = new OAuthStore(sessions, storage.locks, createSealer('key-two'), 60_000);
    expect(await otherKey.getTokens(owner, server)).toBeUndefined();
    expect(await store.deleteTokens(owner, server)).toBe(true);
    expect(await store.getTokens(owner, server)).toBeUndefined();
    await storage.close();
  });

  it('hands a pending authorization to exactly one of many concurrent callbacks', async () => {
    const storage = makeStorage();
    const store = new OAuthStore(storage.sessions, storage.locks, createSealer('key'), 60_000);
    const state = randomUUID();
    const flow = { userId: owner.userId, serverUrl: server, codeVerifier: 'verifier', createdAt: Date.now() };
    await store.savePendingFlow(state, flow, 60_000);
    // Ten stores on one storage stand for ten processes receiving the same callback.
    const takers = Array.from(
      { length: 10 },
      () => new OAuthStore(storage.sessions, storage.locks, createSealer('key'), 60_000),
    );
    const taken = await Promise.all(takers.map((taker) => taker.consumePendingFlow(state, owner.userId, 60_000)));
    expect(taken.filter((value) => value !== undefined)).toEqual([flow]);
    expect(await store.consumePendingFlow(state, owner.userId, 60_000)).toBeUndefined();
    await storage.close();
  });
});
