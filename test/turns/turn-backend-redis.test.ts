import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { LockManager } from '../../src/lock/lock-manager.js';
import { RedisLockBackend } from '../../src/redis/redis-lock-backend.js';
import { RedisTurnBackend } from '../../src/redis/redis-turn-backend.js';
import { conversationTurnLockKey } from '../../src/session/session-keys.js';
import { latestTurnKey, turnEventsKey } from '../../src/turns/turn-keys.js';
import { TurnLog } from '../../src/turns/turn-log.js';
import { runTurnBackendContract } from '../contract/turn-backend.contract.js';
import { deletePrefix, REDIS_URL, requireRedis } from '../fixtures/shared-redis.js';

const PREFIX = `llmchat-turns:${randomUUID()}:`;
const available = await requireRedis('Redis turn backend tests');
const clients: Redis[] = [];
function client(): Redis {
  const made = new Redis(REDIS_URL);
  clients.push(made);
  return made;
}

afterAll(async () => {
  if (!available) return;
  await deletePrefix(clients[0] ?? client(), PREFIX);
  await Promise.all(clients.map((c) => c.quit()));
});

describe.skipIf(!available)('Redis turn backend', () => {
  const admin = available ? client() : (undefined as unknown as Redis);
  runTurnBackendContract(
    'redis',
    async () => [
      new RedisTurnBackend(client(), { keyPrefix: PREFIX }),
      new RedisTurnBackend(client(), { keyPrefix: PREFIX }),
    ],
    async (key, seq, payload) => {
      await admin.xadd(PREFIX + key, `0-${seq}`, 'p', payload);
      await admin.pexpire(PREFIX + key, 10_000);
    },
  );

  it('stores a turn as a Stream with ids 0-<seq> and a TTL, under the user hash tag', async () => {
    const log = new TurnLog(new RedisTurnBackend(admin, { keyPrefix: PREFIX }));
    const ref = { userId: 'a{b}c', turnId: TurnLog.newTurnId() };
    await log.append(
      ref,
      [
        { seq: 1, event: 'token', data: { content: 'x' } },
        { seq: 2, event: 'final', data: {} },
      ],
      5000,
    );
    const key = PREFIX + turnEventsKey(ref.userId, ref.turnId);
    expect(key).toContain('{u:a%7Bb%7Dc}');
    expect(await admin.type(key)).toBe('stream');
    expect((await admin.xrange(key, '-', '+')).map(([id]) => id)).toEqual(['0-1', '0-2']);
    const ttl = await admin.pttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(5000);
  });

  /** A turn log linked to the lock backend of the same storage, and a fresh user's turn lock. */
  function linkedToLocks(user: string) {
    const locks = new RedisLockBackend(admin, { keyPrefix: PREFIX });
    const log = new TurnLog(new RedisTurnBackend(admin, { keyPrefix: PREFIX, locks }));
    const unlinked = new TurnLog(new RedisTurnBackend(admin, { keyPrefix: PREFIX }));
    const userId = `${user}-${randomUUID()}`;
    return { locks, manager: new LockManager(locks), log, unlinked, userId, lockKey: conversationTurnLockKey(userId) };
  }

  it("frees the turn's lock with the turn's last write, only while the lease's token holds it", async () => {
    const { locks, manager, log, unlinked, userId, lockKey } = linkedToLocks('lock');
    expect(log.freesLocks).toBe(true);
    expect(unlinked.freesLocks).toBe(false);
    const final = (seq: number) => [{ seq, event: 'final', data: {} }];

    const lease = await manager.hold(lockKey, { ttlMs: 10_000 });
    const ref = { userId, turnId: TurnLog.newTurnId() };
    const releaseLock = { key: lease.lock.key, token: lease.lock.token };
    expect(await log.append(ref, final(1), 5000, { epoch: 1, releaseLock })).toBe(true);
    expect(await admin.exists(locks.redisKey(lockKey))).toBe(0);
    lease.releasedElsewhere();
    expect(await lease.release()).toBe(true);

    // Another holder's lock is left alone; so is everything when the write is fenced out.
    const other = await manager.hold(lockKey, { ttlMs: 10_000 });
    expect(await log.append({ userId, turnId: TurnLog.newTurnId() }, final(1), 5000, { releaseLock })).toBe(true);
    const fenced = { userId, turnId: TurnLog.newTurnId() };
    await log.claim(fenced, 5000);
    const mine = { key: other.lock.key, token: other.lock.token };
    expect(await log.append(fenced, final(1), 5000, { epoch: 1, releaseLock: mine })).toBe(false);
    expect(await admin.get(locks.redisKey(lockKey))).toBe(other.lock.token);
    expect(await other.release()).toBe(true);
  });

  it('records a turn under its lock, sent before the grant, and takes the record back on request', async () => {
    const { manager, log, unlinked, userId, lockKey } = linkedToLocks('early');
    expect(log.recordsUnderLock).toBe(true);
    expect(unlinked.recordsUnderLock).toBe(false);
    const latestKey = `${PREFIX}${latestTurnKey(userId)}`;
    const record = (turnId: string, extra: object = {}) => ({ turnId, owner: 'p', startedAt: Date.now(), ...extra });
    const now = () => Date.now() - 60_000;

    // Sent right behind the lock request, before its answer: written because the lock was granted.
    const token = LockManager.newToken();
    const leasing = manager.hold(lockKey, { ttlMs: 10_000, token });
    const first = TurnLog.newTurnId();
    const sent = log.startLatestUnderLock(userId, undefined, record(first), 20_000, now(), { key: lockKey, token });
    const lease = await leasing;
    const outcome = await sent;
    expect(outcome.kind).toBe('recorded');
    expect((await log.getLatest(userId))?.turnId).toBe(first);
    // A turn still running there is left alone, under the lock too.
    const second = await log.startLatestUnderLock(userId, undefined, record(TurnLog.newTurnId()), 20_000, now(), {
      key: lockKey,
      token,
    });
    expect(second.kind).toBe('running');
    // Taken back: there was no record before, so there is none now.
    if (outcome.kind === 'recorded') await outcome.undo();
    expect(await admin.exists(latestKey)).toBe(0);

    // An ended record is replaced, and put back with what is left of its TTL.
    const ended = record(TurnLog.newTurnId(), { ended: true });
    await admin.set(latestKey, JSON.stringify(ended), 'PX', 50_000);
    const replaced = await log.startLatestUnderLock(userId, undefined, record(TurnLog.newTurnId()), 20_000, now(), {
      key: lockKey,
      token,
    });
    expect(await admin.pttl(latestKey)).toBeLessThanOrEqual(20_000);
    if (replaced.kind === 'recorded') await replaced.undo();
    expect(replaced.kind).toBe('recorded');
    expect(JSON.parse((await admin.get(latestKey)) ?? 'null')).toEqual(ended);
    expect(await admin.pttl(latestKey)).toBeGreaterThan(20_000);
    expect(await lease.release()).toBe(true);

    // A lock held by someone else: nothing is written.
    const other = await manager.hold(lockKey, { ttlMs: 10_000 });
    const refused = await log.startLatestUnderLock(userId, undefined, record(TurnLog.newTurnId()), 20_000, now(), {
      key: lockKey,
      token: LockManager.newToken(),
    });
    expect(refused.kind).toBe('not-locked');
    expect(JSON.parse((await admin.get(latestKey)) ?? 'null')).toEqual(ended);
    expect(await other.release()).toBe(true);
  });

  it('takes back only its own record: one written since is left alone', async () => {
    const { manager, log, userId, lockKey } = linkedToLocks('early');
    const lease = await manager.hold(lockKey, { ttlMs: 10_000 });
    const mine = { turnId: TurnLog.newTurnId(), owner: 'p', startedAt: Date.now() };
    const outcome = await log.startLatestUnderLock(userId, 'c1', mine, 20_000, Date.now() - 60_000, {
      key: lockKey,
      token: lease.lock.token,
    });
    const newer = { turnId: TurnLog.newTurnId(), owner: 'q', startedAt: Date.now(), ended: true };
    await log.setLatest(userId, 'c1', newer, 20_000);
    if (outcome.kind === 'recorded') await outcome.undo();
    expect(outcome.kind).toBe('recorded');
    expect(await log.getLatest(userId, 'c1')).toEqual(newer);
    await lease.release();
  });

  it('reads an entry with a foreign id or field as EVENT_LOG_INVALID', async () => {
    const log = new TurnLog(new RedisTurnBackend(admin, { keyPrefix: PREFIX }));
    const ref = { userId: 'junk', turnId: TurnLog.newTurnId() };
    await admin.xadd(PREFIX + turnEventsKey(ref.userId, ref.turnId), '5-1', 'x', '{"e":"token","d":{}}');
    await admin.pexpire(PREFIX + turnEventsKey(ref.userId, ref.turnId), 10_000);
    await expect(log.read(ref, 0)).rejects.toMatchObject({ code: 'EVENT_LOG_INVALID' });
  });

  it('fails with BACKEND_UNAVAILABLE when Redis is gone', async () => {
    const dead = new Redis('redis://127.0.0.1:1', { lazyConnect: true, maxRetriesPerRequest: 0 });
    dead.on('error', () => {});
    const log = new TurnLog(new RedisTurnBackend(dead, { keyPrefix: PREFIX, operationTimeoutMs: 300 }));
    await expect(log.read({ userId: 'u', turnId: TurnLog.newTurnId() }, 0)).rejects.toMatchObject({
      code: 'BACKEND_UNAVAILABLE',
    });
    dead.disconnect();
  });
});
