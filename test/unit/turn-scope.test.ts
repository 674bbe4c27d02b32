import { describe, expect, it } from 'vitest';
import { TurnScope } from '../../src/http/turn-scope.js';
import { LockManager } from '../../src/lock/lock-manager.js';
import { MemoryLockBackend } from '../../src/lock/memory-lock-backend.js';

/** A lock backend whose renewals fail once `lose()` is called: the lease is then lost. */
function losableBackend() {
  const memory = new MemoryLockBackend();
  let lost = false;
  return {
    backend: {
      tryAcquire: (key: string, token: string, ttlMs: number) => memory.tryAcquire(key, token, ttlMs),
      extend: async (key: string, token: string, ttlMs: number) => !lost && (await memory.extend(key, token, ttlMs)),
      release: (key: string, token: string) => memory.release(key, token),
    },
    lose: () => {
      lost = true;
    },
  };
}

describe('TurnScope', () => {
  it('stops the turn with the lease’s reason when the turn lock is lost, and once', async () => {
    const { backend, lose } = losableBackend();
    const lease = await new LockManager(backend, { ttlMs: 90 }).hold('turn');
    const scope = new TurnScope(lease, 60_000);
    let stops = 0;
    scope.signal.addEventListener('abort', () => stops++);
    lose();
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(scope.signal.aborted).toBe(true);
    expect(scope.signal.reason).toBe(lease.signal.reason);
    expect(scope.signal.reason).toMatchObject({ code: 'LOCK_LOST' });
    scope.stop(new Error('later'));
    expect(stops).toBe(1);
    await scope.end();
  });

  it('stops with the given reason on stop(), and the lease’s later loss changes nothing', async () => {
    const { backend } = losableBackend();
    const lease = await new LockManager(backend, { ttlMs: 5_000 }).hold('turn');
    const scope = new TurnScope(lease, 60_000);
    const reason = new Error('stop pressed');
    scope.stop(reason);
    expect(scope.signal.reason).toBe(reason);
    await scope.end();
    expect(scope.signal.reason).toBe(reason);
  });
});
