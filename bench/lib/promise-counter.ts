/**
 * Counts the promises a process creates between `start` and `stop`, through an async hook, and
 * optionally where: the first frames of the stack that made each one.
 * The hook itself slows every promise down (taking a stack, much more): count in a pass of its
 * own, never while timing.
 */
import { type AsyncHook, createHook } from 'node:async_hooks';

let hook: AsyncHook | undefined;
let count = 0;
let origins: Map<string, number> | undefined;

/** Frames of this file and of Node's own promise plumbing say nothing about who made a promise. */
const PLUMBING =
  /promise-counter|AsyncHook\.init|node:internal\/(async_hooks|process\/task_queues)|^\s*at (new )?Promise \(|<anonymous>\)?$/;

/**
 * Starts counting from zero. With `withOrigins`, also tallies each promise by the first two
 * frames of the code that made it (the function, and its caller).
 */
export function startPromiseCount(withOrigins = false): boolean {
  hook?.disable();
  count = 0;
  origins = withOrigins ? new Map() : undefined;
  hook = createHook({
    init(_id, type) {
      if (type !== 'PROMISE') return;
      count++;
      if (origins !== undefined) {
        const key = originOf(new Error().stack ?? '');
        origins.set(key, (origins.get(key) ?? 0) + 1);
      }
    },
  }).enable();
  return true;
}

/** Stops counting and returns how many promises were created since {@link startPromiseCount}. */
export function stopPromiseCount(): number {
  hook?.disable();
  hook = undefined;
  return count;
}

/** The tallies by origin of the last count started with origins (empty otherwise). */
export function promiseOrigins(): Record<string, number> {
  return Object.fromEntries(origins ?? []);
}

/** The first two frames of `stack` that are not promise plumbing, joined as "function < caller". */
export function originOf(stack: string): string {
  const frames = stack
    .split('\n')
    .slice(1)
    .filter((line) => !PLUMBING.test(line))
    .slice(0, 2)
    .map((line) =>
      line
        .trim()
        .replace(/^at /, '')
        .replace(/\(?(?:file:\/\/)?\S*\/([^/\s]+:\d+):\d+\)?/, '$1'),
    );
  return frames.length > 0 ? frames.join(' < ') : '(no JavaScript frame)';
}
