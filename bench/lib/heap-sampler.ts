/**
 * V8's sampling heap profiler in the bench server, with the objects the collector frees kept
 * in the profile: what a wave allocates, not only what is still alive when it ends.
 */
import { writeFileSync } from 'node:fs';
import { type InspectorSession, openInspectorSession } from './inspector-session.js';

let session: InspectorSession | undefined;

/** Which objects the collector frees stay in the profile: those a scavenge frees, those a full collection frees. */
export interface KeptCollected {
  minor: boolean;
  major: boolean;
}

/**
 * Starts sampling one allocation every `intervalBytes` bytes (on average). By default every
 * collected object stays in the profile; `{ minor: false, major: true }` keeps only what a full
 * collection freed (objects that lived through scavenges: what was promoted and then died).
 */
export async function startHeapSampling(
  intervalBytes: number,
  keep: KeptCollected = { minor: true, major: true },
): Promise<boolean> {
  session = openInspectorSession();
  await session.post('HeapProfiler.enable');
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: intervalBytes,
    includeObjectsCollectedByMajorGC: keep.major,
    includeObjectsCollectedByMinorGC: keep.minor,
  });
  return true;
}

/** Stops sampling and writes the profile (`.heapprofile`, Chrome DevTools' format) to `path`. */
export async function stopHeapSampling(path: string): Promise<boolean> {
  if (!session) return false;
  const { profile } = await session.post<{ profile: unknown }>('HeapProfiler.stopSampling');
  writeFileSync(path, JSON.stringify(profile));
  session.close();
  session = undefined;
  return true;
}
