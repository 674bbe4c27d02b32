/**
 * V8's sampling heap profiler in the bench server, with the objects the collector frees kept
 * in the profile: what a wave allocates, not only what is still alive when it ends.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

let session: Session | undefined;

function post<T>(method: string, params?: object): Promise<T> {
  return new Promise((resolve, reject) => {
    (session as Session).post(method, params ?? {}, (error, result) => (error ? reject(error) : resolve(result as T)));
  });
}

/** Starts sampling one allocation every `intervalBytes` bytes (on average). */
export async function startHeapSampling(intervalBytes: number): Promise<boolean> {
  // A session of its own for each profile: one that was disconnected is not connected again.
  session = new Session();
  session.connect();
  await post('HeapProfiler.enable');
  await post('HeapProfiler.startSampling', {
    samplingInterval: intervalBytes,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  return true;
}

/** Stops sampling and writes the profile (`.heapprofile`, Chrome DevTools' format) to `path`. */
export async function stopHeapSampling(path: string): Promise<boolean> {
  const { profile } = await post<{ profile: unknown }>('HeapProfiler.stopSampling');
  writeFileSync(path, JSON.stringify(profile));
  session?.disconnect();
  session = undefined;
  return true;
}
