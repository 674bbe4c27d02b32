import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisTurnBackend } from '../../src/redis/redis-turn-backend.js';
import { idempotencyKey, latestTurnKey, turnEventsKey, turnFenceKey } from '../../src/turns/turn-keys.js';
import { TurnLog } from '../../src/turns/turn-log.js';
import { deletePrefix, REDIS_URL, requireRedis } from '../fixtures/shared-redis.js';

// Keys of a turn holding another Redis type than the library writes there (junk written by
// someone else): read as absent and replaced by the next write, as the session keys are,
// never a BACKEND_UNAVAILABLE on every request of that user until someone removes them.
const PREFIX = `llmchat-turn-junk:${randomUUID()}:`;
const available = await requireRedis('Redis turn keys of another type');
const redis = available ? new Redis(REDIS_URL) : undefined;

afterAll(async () => {
  if (!redis) return;
  await deletePrefix(redis, PREFIX);
  await redis.quit();
});

describe.skipIf(!available)('Redis turn keys holding another type', () => {
  const admin = redis as Redis;
  const log = () => new TurnLog(new RedisTurnBackend(admin, { keyPrefix: PREFIX }));
  const junk = (key: string) => admin.hset(PREFIX + key, 'x', '1');

  it('reads a junk latest-turn record as none, and the next turn replaces it', async () => {
    const user = `u-${randomUUID()}`;
    await junk(latestTurnKey(user));
    const turns = log();
    expect(await turns.getLatest(user)).toBeNull();
    const latest = { turnId: TurnLog.newTurnId(), owner: 'p1', startedAt: Date.now() };
    expect(await turns.startLatest(user, undefined, latest, 10_000, 0)).toBe(true);
    expect(await turns.getLatest(user)).toEqual(latest);
  });

  it("reads a junk event log as empty, and the turn's first append replaces it", async () => {
    const user = `u-${randomUUID()}`;
    const ref = { userId: user, turnId: TurnLog.newTurnId() };
    await admin.set(PREFIX + turnEventsKey(user, ref.turnId), 'junk');
    const turns = log();
    expect(await turns.read(ref, 0)).toEqual([]);
    const event = { seq: 1, event: 'token', data: { content: 'hi' } };
    expect(await turns.append(ref, [event], 10_000)).toBe(true);
    expect((await turns.read(ref, 0)).map((entry) => entry.seq)).toEqual([1]);
  });

  it('raises a junk fence from 1, and appends of the claimed epoch go through', async () => {
    const user = `u-${randomUUID()}`;
    const ref = { userId: user, turnId: TurnLog.newTurnId() };
    await junk(turnFenceKey(user, ref.turnId));
    const turns = log();
    expect(await turns.claim(ref, 10_000)).toBe(2);
    expect(await turns.append(ref, [{ seq: 1, event: 'token', data: { content: 'a' } }], 10_000, { epoch: 2 })).toBe(
      true,
    );
  });

  it('claims an idempotency key whose record is junk', async () => {
    const user = `u-${randomUUID()}`;
    await junk(idempotencyKey(user, undefined, 'key-1'));
    const claimed = await log().claimIdempotencyKey(user, undefined, 'key-1', {
      turnId: TurnLog.newTurnId(),
      digest: 'd',
    });
    expect(claimed).toBeNull();
  });
});
