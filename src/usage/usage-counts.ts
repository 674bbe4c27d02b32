/**
 * The most one recorded figure (one LLM call's input, output, cached or cache-write tokens, one
 * turn's tool calls) adds to a counter. No real call comes near it; a provider's runaway or
 * made-up figure above it is counted as this much, so it still spends any budget (failing closed)
 * without pushing the stored counters towards overflow.
 */
export const MAX_USAGE_COUNT = 1e12;

/**
 * The ceiling of a stored counter (`Number.MAX_SAFE_INTEGER`): every backend saturates there,
 * so a counter stays exact as a JS number and a Lua (double) number, and a huge figure never
 * makes later additions fail.
 */
export const MAX_COUNTER = Number.MAX_SAFE_INTEGER;

/**
 * A reported count as the ledger records it: a whole number in `0..MAX_USAGE_COUNT`. A fraction
 * is cut off, a negative or `NaN` figure counts as 0 and a larger one (`Infinity` included) as
 * the cap.
 */
export function toUsageCount(value: number | undefined): number {
  return clampWhole(value, MAX_USAGE_COUNT);
}

/**
 * An amount as a backend adds it: a whole number in `0..MAX_COUNTER`, the same in every backend
 * so memory and Redis store the same figures.
 * @internal
 */
export function toCounterAmount(value: number): number {
  return clampWhole(value, MAX_COUNTER);
}

/**
 * A stored counter as read back: a whole number in `0..MAX_COUNTER`, or `undefined` for a value
 * that is not a finite number (junk, which reads as absent). The Redis script repairs a junk
 * field to this same figure when it next adds to it, so reads and writes agree.
 * @internal
 */
export function toStoredCounter(value: number): number | undefined {
  return Number.isFinite(value) ? clampWhole(value, MAX_COUNTER) : undefined;
}

function clampWhole(value: number | undefined, max: number): number {
  if (typeof value !== 'number' || Number.isNaN(value)) return 0;
  return Math.min(max, Math.max(0, Math.trunc(value)));
}
