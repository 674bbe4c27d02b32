/**
 * The part of an `AbortSignal` the library's own transport reads (the provider's answer, its
 * body's reader). An `AbortSignal` is one; so is a {@link LazyAbort}.
 * @internal
 */
export interface AbortSource {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/**
 * An abort that is a flag and a list of listeners until someone needs a real `AbortSignal`.
 *
 * Each provider call attempt is aborted through one: when it times out, when the turn stops, and
 * when it ends with its body half read. On Node 20 an `AbortController`'s signal is an
 * `EventTarget` with a hidden class of its own, about 0.9 KB held for as long as the answer
 * streams and 5 µs to make; most attempts go over the library's own transport, which needs only
 * this. A host's `fetch` or credentials hook gets a real signal from {@link signal}, made on the
 * first read and aborted with this.
 *
 * Listeners run once, in the order added, when {@link abort} first runs; one added after that, or
 * removed by an earlier listener meanwhile, is not called, as on a signal. A listener that throws
 * does not stop the others, and its error goes nowhere: the listeners are the library's own, and
 * on a signal the same error would crash the process (an uncaught exception).
 * @internal
 */
export class LazyAbort implements AbortSource {
  #aborted = false;
  #reason: unknown;
  #listeners: Array<(() => void) | undefined> | undefined;
  /** The listeners are being called: one removed meanwhile leaves a hole, so the others keep their places. */
  #dispatching = false;
  #controller: AbortController | undefined;

  get aborted(): boolean {
    return this.#aborted;
  }

  get reason(): unknown {
    return this.#reason;
  }

  /** A real signal that aborts with this (with the same reason), made on first read. */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  addEventListener(_type: 'abort', listener: () => void): void {
    if (this.#aborted) return;
    if (this.#listeners === undefined) this.#listeners = [listener];
    else if (!this.#listeners.includes(listener)) this.#listeners.push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const listeners = this.#listeners;
    if (listeners === undefined) return;
    const at = listeners.indexOf(listener);
    if (at < 0) return;
    if (this.#dispatching) listeners[at] = undefined;
    else listeners.splice(at, 1);
  }

  /** Aborts once: the reason is kept (a `DOMException` `AbortError` when none is given), listeners run. */
  abort(reason?: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason === undefined ? new DOMException('This operation was aborted', 'AbortError') : reason;
    const listeners = this.#listeners;
    if (listeners !== undefined) {
      this.#dispatching = true;
      for (const listener of listeners) {
        try {
          listener?.();
        } catch {
          // As on a signal, one listener's failure is not the abort's: the others still run.
        }
      }
      this.#dispatching = false;
    }
    this.#listeners = undefined;
    this.#controller?.abort(this.#reason);
  }
}

/** The real `AbortSignal` behind `source`, for code outside the library (a host's `fetch`). @internal */
export function abortSignalOf(source: AbortSource): AbortSignal {
  return source instanceof LazyAbort ? source.signal : (source as AbortSignal);
}
