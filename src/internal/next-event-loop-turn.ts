/**
 * Resolves on a later turn of the event loop: after every promise job already queued, and every
 * job those queue, has run. Node, Bun and Deno have `setImmediate` (no clamping, unlike a
 * zero-delay timer on Node, which waits at least 1 ms); other runtimes fall back to `setTimeout`.
 * @internal
 */
export function nextEventLoopTurn(): Promise<void> {
  return new Promise((resolve) => {
    if (typeof setImmediate === 'function') setImmediate(resolve);
    else setTimeout(resolve, 0);
  });
}
