import { describe, expect, it } from 'vitest';
import type { BenchWorker } from '../../bench/lib/ipc.js';
import { settledRss } from '../../bench/lib/settled-rss.js';

const MB = 1024 * 1024;

/** A bench server whose `mem` answers the given RSS figures in turn, the last one from then on. */
function serverReading(figures: number[]): BenchWorker & { readings: number } {
  const server = {
    pid: 1,
    readings: 0,
    async call<T>(cmd: string): Promise<T> {
      if (cmd !== 'mem') throw new Error(`unexpected ${cmd}`);
      const rss = figures[Math.min(server.readings, figures.length - 1)] as number;
      server.readings++;
      return { rss } as T;
    },
    async close() {},
  };
  return server;
}

describe('bench settledRss', () => {
  it('waits while RSS falls and returns the first figure that held for two readings', async () => {
    const server = serverReading([160 * MB, 150 * MB, 140 * MB, 134 * MB, 134 * MB, 133.9 * MB, 120 * MB]);
    expect(await settledRss(server, { intervalMs: 1 })).toEqual({ rss: 133.9 * MB, settled: true });
    expect(server.readings).toBe(6);
  });

  it('counts a rise as settled: only a fall means pages are still leaving', async () => {
    const server = serverReading([130 * MB, 131 * MB, 132 * MB, 90 * MB]);
    expect(await settledRss(server, { intervalMs: 1 })).toEqual({ rss: 132 * MB, settled: true });
  });

  it('gives up after maxWaitMs with the last reading, and says it did not settle', async () => {
    let rss = 500 * MB;
    let readings = 0;
    const server = serverReading([]);
    server.call = async <T>() => {
      readings++;
      rss -= 10 * MB;
      return { rss } as T;
    };
    expect(await settledRss(server, { intervalMs: 5, maxWaitMs: 60 })).toEqual({ rss, settled: false });
    // A reading before the wait, then about one each interval until the deadline (timers may
    // fire a little early, so the bound leaves room).
    expect(readings).toBeGreaterThan(1);
    expect(readings).toBeLessThanOrEqual(60 / 4 + 2);
  });
});
