/**
 * V8's CPU profiler in the bench server, started and stopped over IPC: a profile of one wave,
 * without the connects and warm-up that `--cpu-prof` (the whole process life) includes.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

let session: Session | undefined;

function post<T>(method: string, params?: object): Promise<T> {
  return new Promise((resolve, reject) => {
    (session as Session).post(method, params ?? {}, (error, result) => (error ? reject(error) : resolve(result as T)));
  });
}

/** Starts profiling, one sample every `intervalUs` microseconds. */
export async function startCpuProfile(intervalUs: number): Promise<boolean> {
  session = new Session();
  session.connect();
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: intervalUs });
  await post('Profiler.start');
  return true;
}

/** Stops profiling and writes the profile (`.cpuprofile`) to `path`. */
export async function stopCpuProfile(path: string): Promise<boolean> {
  const { profile } = await post<{ profile: unknown }>('Profiler.stop');
  writeFileSync(path, JSON.stringify(profile));
  session?.disconnect();
  session = undefined;
  return true;
}
