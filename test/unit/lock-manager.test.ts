import RedisMock from 'ioredis-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isLlmChatError } from '../../src/errors.js';
import type { LockBackend } from '../../src/lock/lock-backend.js';
import { type LockLease, LockManager, onLeaseEnd } from '../../src/lock/lock-manager.js';
import { MemoryLockBackend } from '../../src/lock/memory-lock-backend.js';
import { RedisLockBackend } from '../../src/redis/redis-lock-backend.js';

/** A memory backend whose methods are spies that tests can override. */
function spyBackend() {
  const memory = new MemoryLockBackend();
  return {
    tryAcquire: vi.fn((key: string, token: string, ttlMs: number) => memory.tryAcquire(key, token, ttlMs)),
    extend: vi.fn((key: string, token: string, ttlMs: number) => memory.extend(key, token, ttlMs)),
    release: vi.fn((key: string, token: string) => memory.release(key, token)),
  } satisfies LockBackend;
}

async function settle<T>(promise: Promise<T>): Promise<{ value?: T; error?: unknown }> {
  return promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
}

describe('LockManager (fake timers)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('retries a held lock every retryDelayMs until waitMs, then fails with LOCK_TIMEOUT', async () => {
    const backend = spyBackend();
    backend.tryAcquire.mockResolvedValue(false);
    const manager = new LockManager(backend, { retryDelayMs: 50, retryJitterMs: 0 });
    const result = settle(manager.acquire('k', { waitMs: 200 }));
    await vi.advanceTimersByTimeAsync(250);
    const { error } = await result;
    expect(isLlmChatError(error) && error.code).toBe('LOCK_TIMEOUT');
    expect(backend.tryAcquire).toHaveBeenCalledTimes(5);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('gets the lock once the holder lets go within waitMs', async () => {
    const backend = spyBackend();
    const manager = new LockManager(backend);
    const held = await manager.acquire('k');
    setTimeout(() => void held.release(), 120);
    const waiting = manager.acquire('k', { waitMs: 1_000 });
    await vi.advanceTimersByTimeAsync(300);
    const lock = await waiting;
    expect(lock.token).not.toBe(held.token);
  });

  it('reports a backend failure as BACKEND_UNAVAILABLE at once, without retrying', async () => {
    const backend = spyBackend();
    backend.tryAcquire.mockRejectedValue(new Error('connect ECONNREFUSED 10.0.0.7:6379'));
    const { error } = await settle(new LockManager(backend).acquire('k', { waitMs: 5_000 }));
    expect(error).toMatchObject({ code: 'BACKEND_UNAVAILABLE', message: 'The lock backend is unavailable.' });
    expect(backend.tryAcquire).toHaveBeenCalledTimes(1);
  });

  it('stops waiting with ABORTED when the signal aborts', async () => {
    const backend = spyBackend();
    backend.tryAcquire.mockResolvedValue(false);
    const controller = new AbortController();
    const result = settle(new LockManager(backend).acquire('k', { waitMs: 60_000, signal: controller.signal }));
    await vi.advanceTimersByTimeAsync(120);
    controller.abort();
    await vi.advanceTimersByTimeAsync(0);
    const { error } = await result;
    expect(isLlmChatError(error) && error.code).toBe('ABORTED');
    expect(vi.getTimerCount()).toBe(0);
    const calls = backend.tryAcquire.mock.calls.length;
    await expect(new LockManager(backend).acquire('k', { signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: 'ABORTED',
    });
    expect(backend.tryAcquire).toHaveBeenCalledTimes(calls);
  });

  it('releases a lock won by an attempt that was in flight when the signal aborted', async () => {
    const backend = spyBackend();
    const controller = new AbortController();
    backend.tryAcquire.mockImplementationOnce(async () => {
      controller.abort();
      return true;
    });
    const { error } = await settle(new LockManager(backend).acquire('k', { signal: controller.signal }));
    expect(isLlmChatError(error) && error.code).toBe('ABORTED');
    expect(backend.release).toHaveBeenCalledOnce();
  });

  it('using() extends every ttlMs / 3, returns the result, releases, and leaves no timer', async () => {
    const backend = spyBackend();
    const manager = new LockManager(backend, { ttlMs: 300 });
    const result = manager.using('k', async () => {
      await new Promise((resolve) => setTimeout(resolve, 350));
      return 42;
    });
    await vi.advanceTimersByTimeAsync(350);
    expect(await result).toBe(42);
    expect(backend.extend).toHaveBeenCalledTimes(3);
    expect(backend.extend).toHaveBeenLastCalledWith('k', expect.any(String), 300);
    expect(backend.release).toHaveBeenCalledOnce();
    expect(await backend.release.mock.results[0]?.value).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('hold() renews the lease until release(), which is idempotent and stops the renewals', async () => {
    const backend = spyBackend();
    const lease = await new LockManager(backend, { ttlMs: 300 }).hold('k');
    await vi.advanceTimersByTimeAsync(350);
    expect(backend.extend).toHaveBeenCalledTimes(3);
    expect(lease.signal.aborted).toBe(false);
    const [first, second] = await Promise.all([lease.release(), lease.release()]);
    expect([first, second]).toEqual([true, true]);
    expect(backend.release).toHaveBeenCalledOnce();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(backend.extend).toHaveBeenCalledTimes(3);
    expect(vi.getTimerCount()).toBe(0);
    // Free again: a second holder gets it at once.
    const next = await new LockManager(backend).hold('k');
    await next.release();
  });

  it('hold() tells how long the lease surely holds: counted from the request, renewed, 0 once lost or released', async () => {
    const backend = spyBackend();
    const lease = await new LockManager(backend, { ttlMs: 300 }).hold('k');
    expect(lease.remainingMs()).toBeGreaterThan(0);
    expect(lease.remainingMs()).toBeLessThanOrEqual(300);
    await vi.advanceTimersByTimeAsync(90);
    const beforeRenewal = lease.remainingMs();
    expect(beforeRenewal).toBeLessThanOrEqual(210);
    await vi.advanceTimersByTimeAsync(20); // the renewal at 100 ms
    expect(backend.extend).toHaveBeenCalledOnce();
    expect(lease.remainingMs()).toBeGreaterThan(beforeRenewal);
    await lease.release();
    expect(lease.remainingMs()).toBe(0);

    backend.extend.mockResolvedValue(false);
    const lost = await new LockManager(backend, { ttlMs: 300 }).hold('k');
    await vi.advanceTimersByTimeAsync(100);
    expect(lost.signal.aborted).toBe(true);
    expect(lost.remainingMs()).toBe(0);
  });

  it('a lease freed by another step stops renewing, is not lost, and releases without a backend call', async () => {
    const forgotten: string[] = [];
    const backend = { ...spyBackend(), forget: (key: string, token: string) => forgotten.push(`${key} ${token}`) };
    const lease = await new LockManager(backend, { ttlMs: 300 }).hold('k');
    // A renewal is in flight when the other step frees the lock: it finds the lock gone.
    let finishRenewal: (held: boolean) => void = () => {};
    backend.extend.mockImplementationOnce(() => new Promise<boolean>((resolve) => (finishRenewal = resolve)));
    await vi.advanceTimersByTimeAsync(100);
    expect(backend.extend).toHaveBeenCalledOnce();
    await backend.release('k', lease.lock.token);
    lease.releasedElsewhere();
    finishRenewal(false);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(lease.signal.aborted).toBe(false);
    expect(backend.extend).toHaveBeenCalledOnce();
    expect(forgotten).toEqual([`k ${lease.lock.token}`]);
    backend.release.mockClear();
    expect(await lease.release()).toBe(true);
    expect(backend.release).not.toHaveBeenCalled();
    expect(lease.remainingMs()).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    // Free for the next holder: the other step's release is the only one there was.
    expect(await backend.tryAcquire('k', 'next', 100)).toBe(true);
  });

  it('hold() aborts its signal with LOCK_LOST when the lease is taken, and release() resolves false', async () => {
    const backend = spyBackend();
    backend.extend.mockResolvedValue(false);
    const lease = await new LockManager(backend, { ttlMs: 300 }).hold('k');
    await vi.advanceTimersByTimeAsync(100);
    expect(isLlmChatError(lease.signal.reason) && lease.signal.reason.code).toBe('LOCK_LOST');
    backend.release.mockResolvedValue(false);
    expect(await lease.release()).toBe(false);
  });

  it('onLeaseEnd hears a lease lost or its caller gone, once, with the reason its signal gives', async () => {
    const backend = spyBackend();
    backend.extend.mockResolvedValue(false);
    const lost = await new LockManager(backend, { ttlMs: 300 }).hold('k');
    const heard: unknown[] = [];
    onLeaseEnd(lost, (reason) => heard.push(reason));
    expect(lost.remainingMs()).toBeGreaterThan(0);
    await vi.advanceTimersByTimeAsync(250);
    expect(heard).toHaveLength(1);
    expect(heard[0]).toMatchObject({ code: 'LOCK_LOST' });
    // The signal, made only now, tells the same.
    expect(lost.signal.reason).toBe(heard[0]);
    expect(lost.remainingMs()).toBe(0);
    // A listener that comes after the end hears it at once.
    onLeaseEnd(lost, (reason) => heard.push(reason));
    expect(heard).toEqual([heard[0], heard[0]]);

    const controller = new AbortController();
    const gone = await new LockManager(spyBackend()).hold('k2', { signal: controller.signal });
    const reasons: unknown[] = [];
    onLeaseEnd(gone, (reason) => reasons.push(reason));
    controller.abort('bye');
    expect(reasons).toEqual(['bye']);
    await gone.release();

    // A lease of another make is heard through its signal.
    const foreign = new AbortController();
    const other = { signal: foreign.signal } as LockLease;
    onLeaseEnd(other, (reason) => reasons.push(reason));
    foreign.abort('elsewhere');
    expect(reasons).toEqual(['bye', 'elsewhere']);
  });

  it('hold() release() never rejects when the backend fails; it logs and resolves false', async () => {
    const backend = spyBackend();
    backend.release.mockRejectedValue(new Error('redis down'));
    const warn = vi.fn();
    const lease = await new LockManager(backend, { logger: { warn } }).hold('k');
    expect(await lease.release()).toBe(false);
    expect(warn).toHaveBeenCalledOnce();
  });

  it('hold() forwards the caller signal to the lease signal once held, and fails the wait with ABORTED before', async () => {
    const backend = spyBackend();
    const controller = new AbortController();
    const lease = await new LockManager(backend).hold('k', { signal: controller.signal });
    controller.abort('bye');
    expect(lease.signal.reason).toBe('bye');
    const waiting = settle(new LockManager(backend).hold('k', { waitMs: 1_000, signal: AbortSignal.abort() }));
    expect(isLlmChatError((await waiting).error) && (await waiting).error).toMatchObject({ code: 'ABORTED' });
    await lease.release();
  });

  it('using() releases when the function throws, and passes the error through', async () => {
    const backend = spyBackend();
    const failure = new Error('tool crashed');
    await expect(
      new LockManager(backend).using('k', async () => {
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(await backend.release.mock.results[0]?.value).toBe(true);
  });

  it('using() aborts the signal with LOCK_LOST when an extension finds the lease gone', async () => {
    const backend = spyBackend();
    backend.extend.mockResolvedValue(false);
    const warn = vi.fn();
    const manager = new LockManager(backend, { ttlMs: 300, logger: { warn } });
    let seen: AbortSignal | undefined;
    const result = manager.using('k', async (signal) => {
      seen = signal;
      await new Promise((resolve) => setTimeout(resolve, 500));
    });
    await vi.advanceTimersByTimeAsync(100);
    expect(seen?.aborted).toBe(true);
    expect(isLlmChatError(seen?.reason) && seen?.reason.code).toBe('LOCK_LOST');
    expect(warn).toHaveBeenCalledOnce();
    await vi.advanceTimersByTimeAsync(400);
    await result;
    expect(backend.extend).toHaveBeenCalledOnce();
  });

  it('using() retries a failed extension while the lease holds, and gives up before it ends', async () => {
    const backend = spyBackend();
    backend.extend.mockRejectedValueOnce(new Error('timeout'));
    const manager = new LockManager(backend, { ttlMs: 300 });
    let seen: AbortSignal | undefined;
    const transient = manager.using('k', async (signal) => {
      seen = signal;
      await new Promise((resolve) => setTimeout(resolve, 350));
    });
    await vi.advanceTimersByTimeAsync(350);
    await transient;
    expect(seen?.aborted).toBe(false);
    expect(backend.extend).toHaveBeenCalledTimes(3);

    backend.extend.mockRejectedValue(new Error('timeout'));
    const lasting = manager.using('k2', async (signal) => {
      seen = signal;
      await new Promise((resolve) => setTimeout(resolve, 500));
    });
    await vi.advanceTimersByTimeAsync(150);
    expect(seen?.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(100);
    expect(seen?.aborted).toBe(true);
    expect(seen?.reason).toMatchObject({ code: 'LOCK_LOST', cause: { code: 'BACKEND_UNAVAILABLE' } });
    await vi.advanceTimersByTimeAsync(300);
    await lasting;
  });

  it('using() waits for an in-flight extension before releasing', async () => {
    const backend = spyBackend();
    let finishExtend: (value: boolean) => void = () => {};
    backend.extend.mockImplementationOnce(() => new Promise<boolean>((resolve) => (finishExtend = resolve)));
    const result = new LockManager(backend, { ttlMs: 300 }).using('k', async () => {
      await new Promise((resolve) => setTimeout(resolve, 150));
    });
    await vi.advanceTimersByTimeAsync(150);
    expect(backend.extend).toHaveBeenCalledOnce();
    expect(backend.release).not.toHaveBeenCalled();
    finishExtend(true);
    await result;
    expect(backend.release).toHaveBeenCalledOnce();
  });

  it('using() forwards the caller signal to the function signal', async () => {
    const controller = new AbortController();
    const result = new LockManager(spyBackend()).using(
      'k',
      (signal) => new Promise((resolve) => signal.addEventListener('abort', () => resolve(signal.reason))),
      { signal: controller.signal },
    );
    await vi.advanceTimersByTimeAsync(0);
    controller.abort('client went away');
    expect(await result).toBe('client went away');
  });

  it('using() logs, not throws, a failed release', async () => {
    const backend = spyBackend();
    backend.release.mockRejectedValue(new Error('down'));
    const warn = vi.fn();
    expect(await new LockManager(backend, { logger: { warn } }).using('k', async () => 'ok')).toBe('ok');
    expect(warn).toHaveBeenCalledWith('Lock release failed; the lease will end by its TTL.');
  });

  it('HeldLock.release is idempotent and extend after release is false', async () => {
    const backend = spyBackend();
    const lock = await new LockManager(backend).acquire('k');
    expect(await lock.release()).toBe(true);
    expect(await lock.release()).toBe(false);
    expect(await lock.extend()).toBe(false);
    expect(backend.release).toHaveBeenCalledOnce();
    expect(backend.extend).not.toHaveBeenCalled();
  });

  it('refuses invalid durations with CONFIG_INVALID', async () => {
    expect(() => new LockManager(spyBackend(), { ttlMs: 0 })).toThrowError(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
    await expect(new LockManager(spyBackend()).acquire('k', { waitMs: -1 })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
    });
  });
});

describe('RedisLockBackend (ioredis-mock)', () => {
  it('reads Lua false from the mock as "not held" and true only for the holder', async () => {
    const redis = new RedisMock();
    const backend = new RedisLockBackend(redis, { keyPrefix: `unit-${Math.random()}:` });
    expect(await backend.release('k', 'nobody')).toBe(false);
    expect(await backend.extend('k', 'nobody', 1_000)).toBe(false);
    expect(await backend.tryAcquire('k', 'a', 1_000)).toBe(true);
    expect(await backend.tryAcquire('k', 'b', 1_000)).toBe(false);
    expect(await backend.extend('k', 'a', 5_000)).toBe(true);
    expect(await redis.pttl(backend.redisKey('k'))).toBeGreaterThan(1_000);
    expect(await backend.release('k', 'b')).toBe(false);
    expect(await backend.release('k', 'a')).toBe(true);
    redis.disconnect();
  });
});
