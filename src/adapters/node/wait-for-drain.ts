import type { EventEmitter } from 'node:events';

/** A writable that emits `drain` and `close`, such as a `ServerResponse`. */
export type DrainableLike = EventEmitter & { readonly destroyed: boolean };

/**
 * Waits until `stream` emits `drain` or `close`, or `signal` aborts, whichever comes first.
 *
 * Every listener it adds is removed on the first of those, so calling it once per full write
 * buffer for the life of a long stream leaves nothing behind (a `Promise.race` of `once()` calls
 * would keep the losers' listeners until they fire). Resolves at once when the stream is already
 * destroyed or the signal already aborted; never rejects.
 */
export function waitForDrain(stream: DrainableLike, signal?: AbortSignal): Promise<void> {
  if (stream.destroyed || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
    signal?.addEventListener('abort', done);
  });
}
