import type { Readable } from 'node:stream';
import type { ProviderBodyReader } from './provider-response.js';

type ReadResult = ReadableStreamReadResult<Uint8Array>;

const DONE: ReadResult = Object.freeze({ done: true, value: undefined }) as ReadResult;

/**
 * Pulls a Node `Readable` (a provider's `IncomingMessage`, or the decompressor behind it) one
 * network read at a time, the way a web stream's reader would, without the web streams.
 *
 * Node emits a `data` event for each HTTP chunk, and a provider sends each event as its own chunk:
 * the chunks one socket read parsed come in one synchronous run of `data` events. A pending read
 * is answered a microtask later, with all of them joined, so the events of one network read stay
 * one batch (one frame, one socket write downstream), as they were over fetch. A chunk that comes
 * while nobody is reading is kept and the stream paused until it is taken, so a slow reader holds
 * back the socket, not memory.
 *
 * The stream's `error` is always listened to (an unheard one would crash the process); a stream
 * that closes before its end is a broken-off body, as fetch reports it.
 * @internal
 */
export class NodeBodyReader implements ProviderBodyReader {
  readonly #source: Readable;
  readonly #destroy: () => void;
  #queued: Uint8Array[] = [];
  #ended = false;
  #cancelled = false;
  #failure: Error | undefined;
  #waiting: { resolve: (result: ReadResult) => void; reject: (error: Error) => void } | undefined;
  #answerQueued = false;

  /**
   * @param source the body's bytes, listened to from now on
   * @param destroy frees the connection when the reader cancels (the request, not just the body)
   */
  constructor(source: Readable, destroy: () => void) {
    this.#source = source;
    this.#destroy = destroy;
    // A body that broke off before anyone read it: its events are gone, its state says so.
    if (source.errored) this.#failure = source.errored;
    else if (source.destroyed && !source.readableEnded) this.#failure = brokenOff();
    source.on('data', this.#onData);
    source.on('end', this.#onEnd);
    source.on('error', this.#onError);
    source.on('close', this.#onClose);
  }

  /** The bytes that came since the last read (maybe several chunks), or `done` at the body's end; rejects when the body broke off. */
  read(): Promise<ReadResult> {
    const next = this.#next();
    if (next === undefined) {
      return new Promise((resolve, reject) => {
        this.#waiting = { resolve, reject };
      });
    }
    return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
  }

  /** Stops reading: what was kept is dropped, the connection destroyed, a pending read resolves `done`. */
  cancel(): Promise<void> {
    if (!this.#ended && !this.#failure && !this.#cancelled) this.#destroy();
    this.#cancelled = true;
    this.#queued = [];
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.resolve(DONE);
    return Promise.resolve();
  }

  /** Nothing to release: the reader is the only one. */
  releaseLock(): void {}

  /** What a read gets at once: kept bytes first, then the failure or the end; `undefined` means wait. */
  #next(): ReadResult | Error | undefined {
    if (this.#cancelled) return DONE;
    if (this.#queued.length > 0) return { done: false, value: this.#take() };
    return this.#failure ?? (this.#ended ? DONE : undefined);
  }

  #take(): Uint8Array {
    const queued = this.#queued;
    this.#queued = [];
    if (!this.#ended) this.#source.resume();
    return queued.length === 1 ? (queued[0] as Uint8Array) : Buffer.concat(queued);
  }

  /** Answers the pending read once the current run of events is over. */
  #answerSoon(): void {
    if (this.#waiting === undefined || this.#answerQueued) return;
    this.#answerQueued = true;
    queueMicrotask(this.#answer);
  }

  readonly #answer = (): void => {
    this.#answerQueued = false;
    const waiting = this.#waiting;
    const next = waiting && this.#next();
    if (!waiting || next === undefined) return;
    this.#waiting = undefined;
    if (next instanceof Error) waiting.reject(next);
    else waiting.resolve(next);
  };

  readonly #onData = (chunk: Uint8Array): void => {
    if (this.#cancelled) return;
    this.#queued.push(chunk);
    if (this.#waiting) this.#answerSoon();
    else this.#source.pause();
  };

  readonly #onEnd = (): void => {
    this.#ended = true;
    this.#answerSoon();
  };

  readonly #onError = (error: Error): void => {
    this.#fail(error);
  };

  readonly #onClose = (): void => {
    // After `end` or `error` this says nothing new; before them, the connection went mid-body.
    if (!this.#ended) this.#fail(brokenOff());
  };

  #fail(error: Error): void {
    if (this.#ended || this.#failure || this.#cancelled) return;
    this.#failure = error;
    this.#answerSoon();
  }
}

function brokenOff(): TypeError {
  return new TypeError('terminated: the provider closed the connection mid-answer.');
}
