import { unrefTimer } from './unref-timer.js';

/**
 * Settles like `promise`, or rejects with `onTimeout()` when it has not settled after `timeoutMs`.
 *
 * The underlying operation is not cancelled (ioredis commands cannot be), so its late rejection
 * is swallowed here rather than surfacing as an unhandled rejection. The timer is `unref()`ed so
 * a pending operation never keeps the process alive.
 * @internal
 */
export function withTimeout<T>(promise: Promise<T>, timeoutMs: number, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), timeoutMs);
    unrefTimer(timer);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
