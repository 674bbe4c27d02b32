/**
 * V8's CPU profiler in the bench server, started and stopped over IPC: a profile of one wave,
 * without the connects and warm-up that `--cpu-prof` (the whole process life) includes.
 */
import { writeFileSync } from 'node:fs';
import { type InspectorSession, openInspectorSession } from './inspector-session.js';

let session: InspectorSession | undefined;

/** Starts profiling, one sample every `intervalUs` microseconds. */
export async function startCpuProfile(intervalUs: number): Promise<boolean> {
  session = openInspectorSession();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: intervalUs });
  await session.post('Profiler.start');
  return true;
}

/** Stops profiling and writes the profile (`.cpuprofile`) to `path`. */
export async function stopCpuProfile(path: string): Promise<boolean> {
  if (!session) return false;
  const { profile } = await session.post<{ profile: unknown }>('Profiler.stop');
  writeFileSync(path, JSON.stringify(profile));
  session.close();
  session = undefined;
  return true;
}
