import { randomUUID } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { isLlmChatError } from '../../src/errors.js';
import type { HeldLock } from '../../src/lock/lock.js';
import type { LockBackend } from '../../src/lock/lock-backend.js';
import { LockManager } from '../../src/lock/lock-manager.js';

/** Two handles on one lock store: two clients for Redis, the same instance twice for memory. */
export type MakeLockBackends = () => Promise<[LockBackend, LockBackend]>;

const WAIT = { timeout: 3000, interval: 20 };
const uniqueKey = (label: string) => `${label}:${randomUUID()}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The behaviour every {@link LockBackend} must have, and {@link LockManager} on top of it. Runs
 * unchanged against the memory backend and a real Redis (two clients contending).
 */
export function runLockBackendContract(name: string, makeBackends: MakeLockBackends): void {
  describe(`LockBackend contract: ${name}`, () => {
    it('grants a free lock to one token only, and releases only for that token', async () => {
      const [a, b] = await makeBackends();
      const key = uniqueKey('lock');
      expect(await a.tryAcquire(key, 'token-a', 10_000)).toBe(true);
      expect(await b.tryAcquire(key, 'token-b', 10_000)).toBe(false);
      expect(await a.tryAcquire(key, 'token-a2', 10_000)).toBe(false);
      expect(await b.release(key, 'token-b')).toBe(false);
      expect(await b.tryAcquire(key, 'token-b', 10_000)).toBe(false);
      expect(await a.release(key, 'token-a')).toBe(true);
      expect(await b.tryAcquire(key, 'token-b', 10_000)).toBe(true);
      expect(await b.release(key, 'token-b')).toBe(true);
    });

    it('returns false, never throws, when releasing a lock that is not held', async () => {
      const [a] = await makeBackends();
      const key = uniqueKey('unheld');
      expect(await a.release(key, 'nobody')).toBe(false);
      await a.tryAcquire(key, 'once', 10_000);
      expect(await a.release(key, 'once')).toBe(true);
      expect(await a.release(key, 'once')).toBe(false);
    });

    it('keeps separate keys independent', async () => {
      const [a, b] = await makeBackends();
      const base = uniqueKey('independent');
      expect(await a.tryAcquire(`${base}:1`, 't1', 10_000)).toBe(true);
      expect(await b.tryAcquire(`${base}:2`, 't2', 10_000)).toBe(true);
    });

    it('frees a lock by its TTL, as when the holder crashed', async () => {
      const [a, b] = await makeBackends();
      const key = uniqueKey('crashed');
      expect(await a.tryAcquire(key, 'crashed-holder', 150)).toBe(true);
      expect(await b.tryAcquire(key, 'waiter', 10_000)).toBe(false);
      await vi.waitFor(async () => expect(await b.tryAcquire(key, 'waiter', 10_000)).toBe(true), WAIT);
      expect(await a.extend(key, 'crashed-holder', 10_000)).toBe(false);
      expect(await a.release(key, 'crashed-holder')).toBe(false);
      expect(await b.release(key, 'waiter')).toBe(true);
    });

    it('extends only for the holding token', async () => {
      const [a, b] = await makeBackends();
      const key = uniqueKey('extend');
      await a.tryAcquire(key, 'holder', 150);
      expect(await b.extend(key, 'intruder', 10_000)).toBe(false);
      expect(await a.extend(key, 'holder', 10_000)).toBe(true);
      await sleep(300);
      expect(await b.tryAcquire(key, 'intruder', 10_000)).toBe(false);
      expect(await a.release(key, 'holder')).toBe(true);
    });
  });

  describe(`LockManager over ${name}`, () => {
    it('reports contention as LOCK_TIMEOUT and hands the lock over after release', async () => {
      const [a, b] = await makeBackends();
      const first = new LockManager(a);
      const second = new LockManager(b);
      const key = uniqueKey('turn');
      const lock = await first.acquire(key);
      await expect(second.acquire(key)).rejects.toMatchObject({ code: 'LOCK_TIMEOUT' });
      expect(await second.tryAcquire(key)).toBeNull();
      const waiting = second.acquire(key, { waitMs: 3000 });
      await sleep(100);
      expect(await lock.release()).toBe(true);
      const next = await waiting;
      expect(next.token).not.toBe(lock.token);
      expect(await lock.release()).toBe(false);
      expect(await next.release()).toBe(true);
    });

    it('lets only one holder run at a time across two managers', async () => {
      const [a, b] = await makeBackends();
      const managers = [new LockManager(a, { retryDelayMs: 5, retryJitterMs: 5 }), new LockManager(b)];
      const key = uniqueKey('exclusive');
      let running = 0;
      let maxRunning = 0;
      let done = 0;
      await Promise.all(
        Array.from({ length: 8 }, (_, n) =>
          managers[n % 2]?.using(
            key,
            async () => {
              running += 1;
              maxRunning = Math.max(maxRunning, running);
              await sleep(15);
              running -= 1;
              done += 1;
            },
            { waitMs: 10_000 },
          ),
        ),
      );
      expect(done).toBe(8);
      expect(maxRunning).toBe(1);
    });

    it('keeps the lease alive while a long function runs, then releases it', async () => {
      const [a, b] = await makeBackends();
      const key = uniqueKey('long');
      const other = new LockManager(b);
      const result = await new LockManager(a).using(
        key,
        async (signal) => {
          await sleep(600);
          expect(await other.tryAcquire(key)).toBeNull();
          expect(signal.aborted).toBe(false);
          return 'finished';
        },
        { ttlMs: 200, extendEveryMs: 50 },
      );
      expect(result).toBe('finished');
      const after = await other.tryAcquire(key);
      expect(after).not.toBeNull();
      await after?.release();
    });

    it('aborts the function signal with LOCK_LOST when the lease is lost to another holder', async () => {
      const [a, b] = await makeBackends();
      const key = uniqueKey('lost');
      let thief: Promise<HeldLock> | undefined;
      const reason = await new LockManager(a).using(
        key,
        (signal) => {
          thief = new LockManager(b).acquire(key, { waitMs: 3000 });
          return new Promise<unknown>((resolve) => {
            signal.addEventListener('abort', () => resolve(signal.reason), { once: true });
          });
        },
        // The first renewal comes after the lease ended: the thief takes it in between.
        { ttlMs: 150, extendEveryMs: 400 },
      );
      expect(isLlmChatError(reason) && reason.code).toBe('LOCK_LOST');
      const stolen = await thief;
      expect(await stolen?.release()).toBe(true);
    });
  });
}
