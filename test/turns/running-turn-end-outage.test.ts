import { afterEach, describe, expect, it, vi } from 'vitest';
import { LlmChatError } from '../../src/errors.js';
import { pullFrom } from '../../src/internal/push-source.js';
import { MemoryTurnBackend } from '../../src/turns/memory-turn-backend.js';
import { RunningTurn } from '../../src/turns/running-turn.js';
import type { TurnBackend } from '../../src/turns/turn-backend.js';
import { TurnLog, type TurnRef } from '../../src/turns/turn-log.js';
import type { ChatEvent } from '../../src/types.js';
import { asyncAppendOnly } from './async-append-only.js';

// A turn whose last event cannot be written because the storage is down keeps its lease and
// retries that write for as long as another process could take the turn over: given up
// earlier, a takeover once the storage is back would run again a turn whose end (an error,
// usually) its user has already seen. Fake timers stand in for an outage of several minutes.

const RUNNING_TTL_MS = 15 * 60_000;

const backends: MemoryTurnBackend[] = [];
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(backends.splice(0).map((backend) => backend.close()));
});

/** A store outside the process that can go down (every call fails at once) and come back. */
function storeThatGoesDown(): { backend: TurnBackend; setDown: (down: boolean) => void; lastCalls: () => number } {
  const memory = asyncAppendOnly(new MemoryTurnBackend());
  backends.push(memory);
  let down = false;
  let lastCalls = 0;
  const unavailable = () =>
    Promise.reject(new LlmChatError('BACKEND_UNAVAILABLE', 'The storage backend is unavailable.'));
  const append = memory.append.bind(memory);
  const last = memory.last.bind(memory);
  memory.append = (key, entries, options) => (down ? unavailable() : append(key, entries, options));
  memory.last = (key) => {
    lastCalls++;
    return down ? unavailable() : last(key);
  };
  return { backend: memory, setDown: (value) => (down = value), lastCalls: () => lastCalls };
}

/** A turn that says one token, then loses the storage and ends with the error its save got. */
function turnEndingInOutage(log: TurnLog, setDown: (down: boolean) => void, beforeEnd: () => Promise<void>) {
  const ref: TurnRef = { userId: 'u', turnId: TurnLog.newTurnId() };
  const turn = new RunningTurn({
    ref,
    log,
    runningTtlMs: RUNNING_TTL_MS,
    epoch: 1,
    beforeEnd,
    endedLatest: { turnId: ref.turnId, owner: 'this-process', startedAt: Date.now(), ended: true },
  });
  const seen: string[] = [];
  const reading = (async () => {
    for await (const event of pullFrom(turn.starterFeed({ paced: false }))) seen.push(event.event);
  })();
  const running = turn.run(
    (async function* (): AsyncGenerator<ChatEvent> {
      yield { type: 'token', content: 'hi' };
      // Let the token's write land, then the storage goes.
      await new Promise((resolve) => setTimeout(resolve, 10));
      setDown(true);
      yield {
        type: 'error',
        error: 'The storage backend is unavailable.',
        recoverable: true,
        code: 'BACKEND_UNAVAILABLE',
      };
    })(),
  );
  return { ref, seen, ended: Promise.all([reading, running]) };
}

describe('RunningTurn, its last write failing through a long storage outage', () => {
  it('keeps its lease past the old one-minute limit, and records its end once the storage is back', async () => {
    vi.useFakeTimers();
    const store = storeThatGoesDown();
    const log = new TurnLog(store.backend);
    const beforeEnd = vi.fn(async () => {});
    const { ref, seen, ended } = turnEndingInOutage(log, store.setDown, beforeEnd);
    await vi.advanceTimersByTimeAsync(50);
    await ended;
    // Its reader saw the end at once.
    expect(seen).toEqual(['token', 'error']);

    // Five minutes down: the turn still holds its lease (and its place), so nobody takes it over.
    await vi.advanceTimersByTimeAsync(5 * 60_000);
    expect(beforeEnd).not.toHaveBeenCalled();

    store.setDown(false);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(beforeEnd).toHaveBeenCalledTimes(1);
    expect((await log.read(ref, 0)).map((event) => event.event)).toEqual(['token', 'error']);
    // Marked ended with it: a process finding the conversation's record knows the turn is over.
    expect(await log.getLatest('u', undefined)).toMatchObject({ turnId: ref.turnId, ended: true });
  });

  it('polls the storage once for all the turns whose end is pending, and records them all once it is back', async () => {
    vi.useFakeTimers();
    const store = storeThatGoesDown();
    const log = new TurnLog(store.backend);
    const beforeEnd = vi.fn(async () => {});
    const turns = Array.from({ length: 50 }, () => turnEndingInOutage(log, () => store.setDown(true), beforeEnd));
    await vi.advanceTimersByTimeAsync(50);
    await Promise.all(turns.map((turn) => turn.ended));

    const before = store.lastCalls();
    await vi.advanceTimersByTimeAsync(30_000);
    // One try every half second at most for the whole process, not one loop per turn: a storage
    // client that knows it is down fails at once, and 50 loops would make 50 times the calls.
    expect(store.lastCalls() - before).toBeLessThanOrEqual(100);

    store.setDown(false);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(beforeEnd).toHaveBeenCalledTimes(50);
    for (const { ref } of turns) expect((await log.last(ref))?.event).toBe('error');
  });
});
