/**
 * The process's exact RSS peak, where Linux keeps it: `VmHWM` in /proc/self/status, which
 * writing `5` to /proc/self/clear_refs resets to the current RSS. Sampling RSS every 50–100 ms
 * can miss a peak between two samples; this cannot. Elsewhere both functions say so
 * (`undefined`, `false`) and the scenarios keep their samples alone.
 */
import { readFileSync, writeFileSync } from 'node:fs';

/** Bytes: the highest RSS since the process started or since {@link resetRssPeak}; `undefined` off Linux. */
export function rssPeak(): number | undefined {
  try {
    const kb = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}

/** Starts a new peak at the current RSS; `false` where that cannot be done. */
export function resetRssPeak(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}
