import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { LockBackend } from '../../src/lock/lock-backend.js';
import { LockManager } from '../../src/lock/lock-manager.js';
import { MemoryLockBackend } from '../../src/lock/memory-lock-backend.js';

/** A memory backend whose extensions can be made to fail. */
function flakyBackend() {
  const memory = new MemoryLockBackend();
  const backend = {
    memory,
    tryAcquire: vi.fn((key: string, token: string, ttlMs: number) => memory.tryAcquire(key, token, ttlMs)),
    extend: vi.fn((key: string, token: string, ttlMs: number) => memory.extend(key, token, ttlMs)),
    release: vi.fn((key: string, token: string) => memory.release(key, token)),
  } satisfies LockBackend & { memory: MemoryLockBackend };
  return backend;
}

describe('LockManager.hold after a wait in the queue (fake timers)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('counts the lease from the attempt that won, not from the start of the wait', async () => {
    const backend = flakyBackend();
    const manager = new LockManager(backend, { ttlMs: 300, retryDelayMs: 10, retryJitterMs: 0 });
    const first = await manager.hold('k');
    setTimeout(() => void first.release(), 250);
    const queuing = manager.hold('k', { waitMs: 1_000 });
    await vi.advanceTimersByTimeAsync(260);
    const queued = await queuing;

    // The store's TTL was just set to 300 ms by the attempt that won (within the last retry).
    expect(queued.remainingMs()).toBeGreaterThan(280);
    expect(queued.remainingMs()).toBeLessThanOrEqual(300);
    await queued.release();
  });

  it('survives one failed renewal after a long wait, while the store still holds the lock', async () => {
    const backend = flakyBackend();
    const manager = new LockManager(backend, { ttlMs: 300, retryDelayMs: 10, retryJitterMs: 0 });
    const first = await manager.hold('k');
    // Held for more than ttl / 3 (the renewal period) by the turn ahead in the queue.
    setTimeout(() => void first.release(), 250);
    const queuing = manager.hold('k', { waitMs: 1_000 });
    await vi.advanceTimersByTimeAsync(260);
    const queued = await queuing;

    backend.extend.mockRejectedValueOnce(new Error('timeout'));
    await vi.advanceTimersByTimeAsync(110); // the first renewal, 100 ms after the lock was granted
    expect(backend.extend).toHaveBeenCalled();
    expect(queued.signal.aborted).toBe(false);
    expect(await backend.memory.extend('k', queued.lock.token, 300)).toBe(true);

    await vi.advanceTimersByTimeAsync(100); // the retry succeeds
    expect(queued.signal.aborted).toBe(false);
    expect(queued.remainingMs()).toBeGreaterThan(200);
    expect(await queued.release()).toBe(true);
  });
});
