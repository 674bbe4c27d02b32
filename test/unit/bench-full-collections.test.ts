import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import {
  oldSpaceUsed,
  startCountingFullCollections,
  stopCountingFullCollections,
} from '../../bench/lib/full-collections.js';

setFlagsFromString('--expose-gc');
// Without options `gc()` runs a full collection; `{ type: 'minor' }` a scavenge.
const gc = runInNewContext('gc') as (options?: { type: 'minor' }) => void;

// Node reports a collection to observers from an immediate after it ran.
const reported = async () => {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
};

describe('bench full-collection counter', () => {
  // V8 may run a collection of its own meanwhile: the counts allow for one.
  it('counts the full collections run while it counts, not the scavenges', async () => {
    startCountingFullCollections();
    for (let i = 0; i < 5; i++) gc({ type: 'minor' });
    await reported();
    expect(stopCountingFullCollections()).toBeLessThanOrEqual(1);

    startCountingFullCollections();
    for (let i = 0; i < 5; i++) gc();
    await reported();
    const counted = stopCountingFullCollections();
    expect(counted).toBeGreaterThanOrEqual(5);
    expect(counted).toBeLessThanOrEqual(6);
    // Stopped: later collections are not counted.
    gc();
    await reported();
    expect(stopCountingFullCollections()).toBe(counted);
  });

  it('reads the old generation', () => {
    const kept = Array.from({ length: 20_000 }, (_, i) => ({ i }));
    gc();
    expect(oldSpaceUsed()).toBeGreaterThan(20_000 * 16);
    expect(kept.length).toBe(20_000);
  });
});
