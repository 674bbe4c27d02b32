import type { Readable } from 'node:stream';
import type { ProviderBodyReader } from './provider-response.js';

type ReadResult = ReadableStreamReadResult<Uint8Array>;

const DONE: ReadResult = Object.freeze({ done: true, value: undefined }) as ReadResult;

/**
 * Pulls a Node `Readable` (a provider's `IncomingMessage`, or the decompressor behind it) one
 * chunk at a time, the way a web stream's reader would, without the web streams: a chunk goes
 * from its `data` event straight to the pending read. A chunk that comes while nobody is reading
 * is kept and the stream paused until it is taken, so a slow reader holds back the socket, not
 * memory.
 *
 * The stream's `error` is always listened to (an unheard one would crash the process); a stream
 * that closes before its end is a broken-off body, as fetch reports it.
 * @internal
 */
export class NodeBodyReader implements ProviderBodyReader {
  readonly #source: Readable;
  readonly #destroy: () => void;
  readonly #queued: Uint8Array[] = [];
  #ended = false;
  #failure: Error | undefined;
  #waiting: { resolve: (result: ReadResult) => void; reject: (error: Error) => void } | undefined;

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

  /** The next chunk, or `done` at the body's end; rejects when the body broke off. */
  read(): Promise<ReadResult> {
    const chunk = this.#queued.shift();
    if (chunk !== undefined) {
      if (this.#queued.length === 0 && !this.#ended) this.#source.resume();
      return Promise.resolve({ done: false, value: chunk });
    }
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#ended) return Promise.resolve(DONE);
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
    });
  }

  /** Stops reading: what was kept is dropped, the connection destroyed, a pending read resolves `done`. */
  cancel(): Promise<void> {
    if (!this.#ended && !this.#failure) {
      this.#ended = true;
      this.#destroy();
    }
    this.#queued.length = 0;
    this.#settle(DONE);
    return Promise.resolve();
  }

  /** Nothing to release: the reader is the only one. */
  releaseLock(): void {}

  readonly #onData = (chunk: Uint8Array): void => {
    const waiting = this.#waiting;
    if (waiting) {
      this.#waiting = undefined;
      waiting.resolve({ done: false, value: chunk });
      return;
    }
    this.#queued.push(chunk);
    this.#source.pause();
  };

  readonly #onEnd = (): void => {
    this.#ended = true;
    this.#settle(DONE);
  };

  readonly #onError = (error: Error): void => {
    this.#fail(error);
  };

  readonly #onClose = (): void => {
    // After `end` or `error` this says nothing new; before them, the connection went mid-body.
    if (!this.#ended) this.#fail(brokenOff());
  };

  #fail(error: Error): void {
    if (this.#ended || this.#failure) return;
    this.#failure = error;
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.reject(error);
  }

  #settle(result: ReadResult): void {
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.resolve(result);
  }
}

function brokenOff(): TypeError {
  return new TypeError('terminated: the provider closed the connection mid-answer.');
}
