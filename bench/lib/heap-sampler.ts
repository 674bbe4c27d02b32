/**
 * V8's sampling heap profiler in the bench server, with the objects the collector frees kept
 * in the profile: what a wave allocates, not only what is still alive when it ends.
 */
import { writeFileSync } from 'node:fs';
import { type InspectorSession, openInspectorSession } from './inspector-session.js';

let session: InspectorSession | undefined;

/** Starts sampling one allocation every `intervalBytes` bytes (on average). */
export async function startHeapSampling(intervalBytes: number): Promise<boolean> {
  session = openInspectorSession();
  await session.post('HeapProfiler.enable');
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: intervalBytes,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
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
