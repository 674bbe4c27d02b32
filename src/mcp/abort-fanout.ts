type AbortCallback = (reason: unknown) => void;

interface Fanout {
  readonly callbacks: Set<AbortCallback>;
  readonly listener: () => void;
}

// One listener per signal, shared by every subscriber. A transport's signal (or a turn's) is
// handed to every request it makes; one listener per request would make Node print a
// MaxListenersExceededWarning on the host's stderr after ten parallel calls.
const fanouts = new WeakMap<AbortSignal, Fanout>();

/**
 * Calls `callback(signal.reason)` when `signal` aborts (at once when it already has), until the
 * returned function is called. However many subscribe, the signal carries at most one listener
 * of ours, removed again when the last subscriber leaves.
 * @internal
 */
export function onAbort(signal: AbortSignal, callback: AbortCallback): () => void {
  if (signal.aborted) {
    callback(signal.reason);
    return () => undefined;
  }
  let fanout = fanouts.get(signal);
  if (!fanout) {
    const callbacks = new Set<AbortCallback>();
    const listener = () => {
      fanouts.delete(signal);
      for (const subscriber of [...callbacks]) subscriber(signal.reason);
    };
    fanout = { callbacks, listener };
    fanouts.set(signal, fanout);
    signal.addEventListener('abort', listener, { once: true });
  }
  const own = fanout;
  own.callbacks.add(callback);
  return () => {
    if (!own.callbacks.delete(callback) || own.callbacks.size > 0) return;
    signal.removeEventListener('abort', own.listener);
    if (fanouts.get(signal) === own) fanouts.delete(signal);
  };
}

/**
 * Settles with `promise`, or rejects with `toError(reason)` as soon as `signal` aborts, through
 * {@link onAbort}'s shared listener.
 * @internal
 */
export function raceAbort<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
  toError: (reason: unknown) => unknown,
): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const unlink = onAbort(signal, (reason) => reject(toError(reason)));
    promise.then(
      (value) => {
        unlink();
        resolve(value);
      },
      (error: unknown) => {
        unlink();
        reject(error);
      },
    );
  });
}
