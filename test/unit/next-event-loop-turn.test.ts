import { afterEach, describe, expect, it, vi } from 'vitest';
import { nextEventLoopTurn } from '../../src/internal/next-event-loop-turn.js';

/** Queues a chain of `hops` promise jobs and records when its last one ran. */
function chain(hops: number, order: string[]): void {
  let step = Promise.resolve();
  for (let i = 0; i < hops; i++) step = step.then(() => undefined);
  void step.then(() => order.push('chain done'));
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('nextEventLoopTurn', () => {
  it('resolves after every promise job queued before it, and the jobs they queue', async () => {
    const order: string[] = [];
    chain(1_000, order);
    await nextEventLoopTurn();
    order.push('next turn');
    expect(order).toEqual(['chain done', 'next turn']);
  });

  it('falls back to a timer where setImmediate is missing', async () => {
    vi.stubGlobal('setImmediate', undefined);
    const timeout = vi.spyOn(globalThis, 'setTimeout');
    const order: string[] = [];
    chain(1_000, order);
    await nextEventLoopTurn();
    order.push('next turn');
    expect(order).toEqual(['chain done', 'next turn']);
    expect(timeout).toHaveBeenCalledWith(expect.any(Function), 0);
    timeout.mockRestore();
  });
});
