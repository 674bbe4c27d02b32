import { unrefTimer } from './unref-timer.js';

/**
 * Waits `ms` milliseconds, or less when `signal` aborts: it then resolves at once instead of
 * rejecting, because every caller (retry backoff, lock polling) checks its own stop condition
 * right after and reports it with its own error. The timer is `unref()`ed, so a pending wait
 * never keeps the process alive, and the abort listener is removed either way.
 * @internal
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) {
      resolve();
      return;
    }
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    unrefTimer(timer);
    signal?.addEventListener('abort', done, { once: true });
  });
}
