/**
 * A source that hands over what it holds synchronously and calls back when it holds more.
 *
 * Between a producer that already keeps its items in memory (a running turn) and a consumer that
 * can take them at once (an SSE stream writing to a socket), an async iterator costs a few
 * promises and an async step per item; this costs a function call. Consumers that want an async
 * iterator anyway read it through {@link pullFrom}.
 * @internal
 */
export interface PushSource<T> {
  /**
   * Hands the items available now to `take`, oldest first, until `take` returns `false` (after
   * taking that item) or nothing is left. Returns `true` once the source has ended and nothing
   * more will come, else `false`. Throws what the source failed with.
   */
  drain(take: (item: T) => boolean): boolean;
  /**
   * Calls `wake` once, synchronously, the next time more is available or the source ends.
   * A later call replaces an earlier `wake` that has not fired.
   */
  onReady(wake: () => void): void;
  /** Stops following: no `wake` comes after this. */
  close(): void;
}

/** Whether `value` is a {@link PushSource} rather than an async iterable. @internal */
export function isPushSource<T>(value: AsyncIterable<T> | PushSource<T>): value is PushSource<T> {
  return typeof (value as Partial<PushSource<T>>).drain === 'function';
}

/**
 * Reads a {@link PushSource} as an async iterator, one item a step. An aborted `signal` ends it
 * (after the item being handed out); ending it by any means closes the source.
 * @internal
 */
export async function* pullFrom<T>(source: PushSource<T>, signal?: AbortSignal): AsyncGenerator<T, void, undefined> {
  let item: T | undefined;
  let took = false;
  const takeOne = (value: T): boolean => {
    item = value;
    took = true;
    return false;
  };
  // One abort listener for the whole read, not one per wait.
  let parked: (() => void) | undefined;
  const onAbort = () => parked?.();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      took = false;
      const ended = source.drain(takeOne);
      if (took) {
        const value = item as T;
        item = undefined;
        yield value;
      }
      if (ended || signal?.aborted) return;
      if (took) continue;
      await new Promise<void>((resolve) => {
        parked = resolve;
        source.onReady(resolve);
      });
      parked = undefined;
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    source.close();
  }
}
