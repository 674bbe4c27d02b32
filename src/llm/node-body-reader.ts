import type { Readable } from 'node:stream';
import type { ProviderBodyReader } from './provider-response.js';

type ReadResult = ReadableStreamReadResult<Uint8Array>;

const DONE: ReadResult = Object.freeze({ done: true, value: undefined }) as ReadResult;

// Bytes taken off the stream ahead of the reader. Past this the stream is left to fill to its
// own high-water mark, and then the socket waits.
const AHEAD_BYTES = 64 * 1024;

/**
 * Pulls a Node `Readable` (the decompressor behind a provider's compressed answer; a plain answer
 * is read by `DispatchedAnswer` itself) the way a web stream's reader would, without the web
 * streams.
 *
 * The stream stays paused, and whatever it buffered is taken off it joined (`readable.read()`)
 * as soon as it says it has some: one read gets every chunk that came since the last (one batch,
 * one frame and one socket write downstream), and a chunk costs the stream a buffer push, not a
 * `data` event. Taking the bytes at once, not at the reader's pace, lets the body end as soon as
 * its last bytes came, so its kept-alive socket is back in the pool before the caller's next
 * request. Up to {@link AHEAD_BYTES} are taken ahead of the reader; then the stream fills and
 * holds back the socket, not memory.
 *
 * The stream's `error` is always listened to (an unheard one would crash the process); a stream
 * that closes before its end is a broken-off body, as fetch reports it.
 * @internal
 */
export class NodeBodyReader implements ProviderBodyReader {
  readonly #source: Readable;
  readonly #letGo: () => void;
  #queued: Uint8Array[] = [];
  #queuedBytes = 0;
  #ended = false;
  #cancelled = false;
  #failure: Error | undefined;
  #waiting: { resolve: (result: ReadResult) => void; reject: (error: Error) => void } | undefined;

  /**
   * @param source the body's bytes, listened to from now on
   * @param letGo frees the connection when the reader cancels before the end (drains the rest
   *   for a moment, then cuts the request, not just the body)
   */
  constructor(source: Readable, letGo: () => void) {
    this.#source = source;
    this.#letGo = letGo;
    // A body that broke off before anyone read it: its events are gone, its state says so.
    if (source.errored) this.#failure = source.errored;
    else if (source.destroyed && !source.readableEnded) this.#failure = brokenOff();
    source.on('readable', this.#pull);
    source.on('end', this.#onEnd);
    source.on('error', this.#onError);
    source.on('close', this.#onClose);
  }

  /** Everything that came since the last read, or `done` at the body's end; rejects when the body broke off. */
  read(): Promise<ReadResult> {
    if (this.#waiting) return Promise.reject(new TypeError('A provider body is read one read at a time.'));
    const next = this.#next();
    if (next === undefined) {
      return new Promise((resolve, reject) => {
        this.#waiting = { resolve, reject };
      });
    }
    return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
  }

  /** Stops reading: what was taken is dropped, the connection let go, a pending read resolves `done`. */
  cancel(): Promise<void> {
    if (!this.#ended && !this.#failure && !this.#cancelled) {
      // Off the source first: a body already complete is drained by `letGo` (its socket goes back
      // to the pool), and a paused stream with a `readable` listener would not flow.
      this.#source.off('readable', this.#pull);
      this.#source.off('end', this.#onEnd);
      this.#source.off('close', this.#onClose);
      this.#letGo();
    }
    this.#cancelled = true;
    this.#queued = [];
    this.#queuedBytes = 0;
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.resolve(DONE);
    return Promise.resolve();
  }

  /** Nothing to release: the reader is the only one. */
  releaseLock(): void {}

  /** What a read gets now: taken bytes first, then the failure or the end; `undefined` means wait. */
  #next(): ReadResult | Error | undefined {
    if (this.#cancelled) return DONE;
    if (this.#queuedBytes === 0 && !this.#ended && !this.#failure) this.#take();
    if (this.#queued.length > 0) {
      const queued = this.#queued;
      this.#queued = [];
      this.#queuedBytes = 0;
      // Taken ahead again at once: a stream held back at the limit resumes while the reader works.
      if (this.#source.readableLength > 0) this.#take();
      return { done: false, value: queued.length === 1 ? (queued[0] as Uint8Array) : Buffer.concat(queued) };
    }
    return this.#failure ?? (this.#ended ? DONE : undefined);
  }

  /** Takes what the stream buffered, up to the limit ahead of the reader. */
  #take(): void {
    while (this.#queuedBytes < AHEAD_BYTES) {
      const bytes = this.#source.read() as Uint8Array | null;
      if (bytes === null) return;
      this.#queued.push(bytes);
      this.#queuedBytes += bytes.byteLength;
    }
  }

  readonly #pull = (): void => {
    if (this.#cancelled) return;
    this.#take();
    this.#answer();
  };

  /** Answers the pending read, if any, with what there is now. */
  #answer(): void {
    const waiting = this.#waiting;
    const next = waiting && this.#next();
    if (!waiting || next === undefined) return;
    this.#waiting = undefined;
    if (next instanceof Error) waiting.reject(next);
    else waiting.resolve(next);
  }

  readonly #onEnd = (): void => {
    this.#ended = true;
    this.#answer();
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
    this.#answer();
  }
}

function brokenOff(): TypeError {
  return new TypeError('terminated: the provider closed the connection mid-answer.');
}
