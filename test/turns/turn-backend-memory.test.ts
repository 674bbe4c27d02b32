import { afterAll, describe, expect, it, vi } from 'vitest';
import { MemoryTurnBackend } from '../../src/turns/memory-turn-backend.js';
import { TurnLog } from '../../src/turns/turn-log.js';
import { runTurnBackendContract } from '../contract/turn-backend.contract.js';

const opened: MemoryTurnBackend[] = [];
afterAll(async () => {
  await Promise.all(opened.map((backend) => backend.close()));
});
function backend(options?: ConstructorParameters<typeof MemoryTurnBackend>[0]): MemoryTurnBackend {
  const made = new MemoryTurnBackend(options);
  opened.push(made);
  return made;
}

const shared = backend();
runTurnBackendContract(
  'memory',
  async () => [shared, shared],
  async (key, seq, payload) => {
    await shared.append(key, [{ seq, payload }], { maxEvents: 100, ttlMs: 10_000 });
  },
);

describe('MemoryTurnBackend specifics', () => {
  it('keeps exactly maxEvents entries per log', async () => {
    const turns = backend();
    const log = new TurnLog(turns, { maxEvents: 5 });
    const ref = { userId: 'u', turnId: TurnLog.newTurnId() };
    for (let seq = 1; seq <= 12; seq++)
      await log.append(ref, [{ seq, event: 'token', data: { content: 'x' } }], 10_000);
    expect((await log.read(ref, 7)).map((event) => event.seq)).toEqual([8, 9, 10, 11, 12]);
  });

  it('a log with a gap (a write that failed) reads as RESUME_LOST across it, never as a skip', async () => {
    const log = new TurnLog(backend());
    const ref = { userId: 'u', turnId: TurnLog.newTurnId() };
    for (const seq of [1, 2, 4, 5])
      await log.append(ref, [{ seq, event: 'token', data: { content: `t${seq}` } }], 10_000);
    await expect(log.read(ref, 1)).rejects.toMatchObject({ code: 'RESUME_LOST' });
    await expect(log.read(ref, 2)).rejects.toMatchObject({ code: 'RESUME_LOST' });
    expect((await log.read(ref, 3)).map((event) => event.seq)).toEqual([4, 5]);
  });

  it('a ref object reused for another turn appends to that turn (keys are not stale)', async () => {
    const log = new TurnLog(backend());
    const first = TurnLog.newTurnId();
    const ref = { userId: 'u', turnId: first };
    await log.append(ref, [{ seq: 1, event: 'token', data: { content: 'one' } }], 10_000, { epoch: 1 });
    ref.turnId = TurnLog.newTurnId();
    await log.append(ref, [{ seq: 1, event: 'token', data: { content: 'two' } }], 10_000, { epoch: 1 });
    expect((await log.read({ userId: 'u', turnId: first }, 0)).map((event) => event.data.content)).toEqual(['one']);
    expect((await log.read(ref, 0)).map((event) => event.data.content)).toEqual(['two']);
  });

  it('holds no more logs than maxEntries, and an expired log is swept without being read', async () => {
    vi.useFakeTimers();
    try {
      const turns = backend({ maxEntries: 3, sweepIntervalMs: 1000 });
      const log = new TurnLog(turns);
      for (let i = 0; i < 5; i++) {
        await log.append({ userId: 'u', turnId: TurnLog.newTurnId() }, [{ seq: 1, event: 'token', data: {} }], 5000);
      }
      expect(turns.size).toBe(3);
      vi.advanceTimersByTime(6000);
      expect(turns.size).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});
