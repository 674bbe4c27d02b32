import { describe, expect, it } from 'vitest';
import { LlmChatError } from '../../src/errors.js';
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
    const aborted: LlmChatError[] = [];
    scope.stopsTurn({ abort: (reason) => aborted.push(reason) });
    expect(aborted).toEqual([]);
    lose();
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(aborted).toHaveLength(1);
    expect(aborted[0]).toBe(lease.signal.reason);
    expect(aborted[0]).toMatchObject({ code: 'LOCK_LOST' });
    scope.stop(new Error('later'));
    expect(aborted).toHaveLength(1);
    await scope.end();
  });

  it('stops with the given reason on stop(), and the lease’s later loss changes nothing', async () => {
    const { backend } = losableBackend();
    const lease = await new LockManager(backend, { ttlMs: 5_000 }).hold('turn');
    const scope = new TurnScope(lease, 60_000);
    const aborted: LlmChatError[] = [];
    scope.stopsTurn({ abort: (reason) => aborted.push(reason) });
    const reason = new LlmChatError('ABORTED', 'stop pressed');
    scope.stop(reason);
    expect(aborted).toEqual([reason]);
    expect(aborted[0]).toBe(reason);
    await scope.end();
    expect(aborted).toEqual([reason]);
  });

  it('aborts a turn at once when the scope has stopped before the turn ran', async () => {
    const { backend: other } = losableBackend();
    const early = new TurnScope(await new LockManager(other, { ttlMs: 5_000 }).hold('turn'), 60_000);
    early.stop(new Error('gone before the turn ran'));
    const late: LlmChatError[] = [];
    early.stopsTurn({ abort: (reason) => late.push(reason) });
    // A reason that is not the library's own reaches the turn as a stop (ABORTED).
    expect(late).toHaveLength(1);
    expect(late[0]).toMatchObject({ code: 'ABORTED' });
    await early.end();
  });

  it('stops the turn when its deadline passes', async () => {
    const { backend } = losableBackend();
    const scope = new TurnScope(await new LockManager(backend, { ttlMs: 5_000 }).hold('turn'), 30);
    const aborted: LlmChatError[] = [];
    scope.stopsTurn({ abort: (reason) => aborted.push(reason) });
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(aborted).toHaveLength(1);
    expect(aborted[0]).toMatchObject({ code: 'TIMEOUT' });
    await scope.end();
  });
});
