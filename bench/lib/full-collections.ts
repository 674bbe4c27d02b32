/**
 * Counts V8's full (mark-compact) collections in a stretch of a bench server's life, and reads
 * how much the old generation holds.
 *
 * Scenario 4a's peak depends on whether one runs during the wave: V8 sets the old generation's
 * next limit after each full collection, at what survived times a factor (1.1 to 4) it derives
 * from how fast the program promoted objects lately. A server whose limit lands above what the
 * wave promotes reaches its peak with all of the wave's garbage still in the old generation; one
 * whose limit lands below collects midway, and peaks 10–20 MB lower with the same live data.
 */
import { constants, type PerformanceEntry, PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';

let observer: PerformanceObserver | undefined;
let count = 0;

// A `gc` entry says which collection ran in its `detail` (Node ≥ 16), which the typings leave out.
const isFull = (entry: PerformanceEntry): boolean =>
  (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR;

/** Starts counting full collections from zero (the bench's own `gc()` calls count too). */
export function startCountingFullCollections(): boolean {
  observer?.disconnect();
  count = 0;
  observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if (isFull(entry)) count += 1;
  });
  observer.observe({ entryTypes: ['gc'] });
  return true;
}

/** The full collections since {@link startCountingFullCollections}; stops counting. */
export function stopCountingFullCollections(): number {
  // Entries still buffered (the observer is called asynchronously) count too.
  for (const entry of observer?.takeRecords() ?? []) if (isFull(entry)) count += 1;
  observer?.disconnect();
  observer = undefined;
  return count;
}

/** Bytes the old generation's objects take now, live or not yet collected. */
export function oldSpaceUsed(): number {
  return getHeapSpaceStatistics().find((space) => space.space_name === 'old_space')?.space_used_size ?? 0;
}
