import type { AbortSource } from './lazy-abort.js';

/**
 * Throws the abort reason of `signal` when it has aborted (a `DOMException` `AbortError` when the
 * reason is empty), the way `AbortSignal.throwIfAborted` does, for signals (or a `LazyAbort`)
 * that may be absent.
 * @internal
 */
export function throwIfAborted(signal: Pick<AbortSource, 'aborted' | 'reason'> | undefined): void {
  if (signal?.aborted) throw signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}
