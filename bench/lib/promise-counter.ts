/**
 * Counts the promises a process creates between `start` and `stop`, through an async hook.
 * The hook itself slows every promise down: count in a pass of its own, never while timing.
 */
import { type AsyncHook, createHook } from 'node:async_hooks';

let hook: AsyncHook | undefined;
let count = 0;

/** Starts counting from zero. */
export function startPromiseCount(): boolean {
  hook?.disable();
  count = 0;
  hook = createHook({
    init(_id, type) {
      if (type === 'PROMISE') count++;
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
