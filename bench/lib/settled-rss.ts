/**
 * The RSS of a bench server once what its last full collection freed has left the process.
 *
 * V8 hands the pages a full collection emptied back to the kernel on a background thread (its
 * unmapper), over the next second or two: right after `gc()` a server that just connected 500
 * users still counted 15–30 MB of freed pages (2 s later its RSS had fallen from 149–163 to
 * 132–134 MB, on Node 20 with the connects' garbage). A wave's peak counted from that moment
 * starts with memory the wave never used. This waits until RSS stops falling.
 */
import type { BenchWorker } from './ipc.js';

/** Options of {@link settledRss}. */
export interface SettleOptions {
  /** Milliseconds between two readings. @default 100 */
  intervalMs?: number;
  /** RSS is settled when a reading is less than this many bytes under the one before. @default 256 KiB */
  toleranceBytes?: number;
  /** Gives up waiting after this long and returns the last reading. @default 4000 */
  maxWaitMs?: number;
}

/** The last reading, and whether RSS had stopped falling by then (`false`: `maxWaitMs` ran out first). */
export interface SettledRss {
  rss: number;
  settled: boolean;
}

/** Reads the server's RSS until it stops falling, or until `maxWaitMs` passes. */
export async function settledRss(server: BenchWorker, options: SettleOptions = {}): Promise<SettledRss> {
  const { intervalMs = 100, toleranceBytes = 256 * 1024, maxWaitMs = 4000 } = options;
  const deadline = performance.now() + maxWaitMs;
  let previous = await rssOf(server);
  // Two quiet readings in a row: the unmapper works in bursts.
  let quiet = 0;
  while (quiet < 2 && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
    const current = await rssOf(server);
    quiet = previous - current < toleranceBytes ? quiet + 1 : 0;
    previous = current;
  }
  return { rss: previous, settled: quiet >= 2 };
}

async function rssOf(server: BenchWorker): Promise<number> {
  return (await server.call<{ rss: number }>('mem')).rss;
}
