import { afterEach, describe, expect, it, vi } from 'vitest';
import { ReleaseRetrier } from '../../src/redis/release-retrier.js';

describe('ReleaseRetrier', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('retries with backoff until an attempt succeeds, then stops', async () => {
    vi.useFakeTimers();
    const retrier = new ReleaseRetrier();
    let calls = 0;
    retrier.retry('a', Date.now() + 60_000, async () => {
      calls += 1;
      if (calls < 3) throw new Error('down');
    });
    retrier.retry('a', Date.now() + 60_000, async () => {
      throw new Error('a second loop for the same lease must not start');
    });
    await vi.advanceTimersByTimeAsync(100);
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(200);
    expect(calls).toBe(2);
    await vi.advanceTimersByTimeAsync(400);
    expect(calls).toBe(3);
    expect(retrier.size).toBe(0);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls).toBe(3);
  });

  it('gives up once the lease has ended anyway, and close() cancels everything', async () => {
    vi.useFakeTimers();
    const retrier = new ReleaseRetrier();
    let expiring = 0;
    retrier.retry('short', Date.now() + 1_000, async () => {
      expiring += 1;
      throw new Error('down');
    });
    await vi.advanceTimersByTimeAsync(5_000);
    expect(expiring).toBeGreaterThan(1);
    expect(expiring).toBeLessThan(6);
    expect(retrier.size).toBe(0);

    let cancelled = 0;
    retrier.retry('long', Date.now() + 60_000, async () => {
      cancelled += 1;
      throw new Error('down');
    });
    expect(vi.getTimerCount()).toBe(1);
    retrier.close();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(cancelled).toBe(0);
    retrier.retry('after close', Date.now() + 60_000, async () => {});
    expect(retrier.size).toBe(0);
  });
});
