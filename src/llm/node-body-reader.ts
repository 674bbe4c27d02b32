import type { Readable } from 'node:stream';
import { AHEAD_BYTES, QueuedBodyReader } from './queued-body-reader.js';

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
 * request. Up to `AHEAD_BYTES` are taken ahead of the reader; then the stream fills and
 * holds back the socket, not memory.
 *
 * The stream's `error` is always listened to (an unheard one would crash the process); a stream
 * that closes before its end is a broken-off body, as fetch reports it.
 * @internal
 */
export class NodeBodyReader extends QueuedBodyReader {
  readonly #source: Readable;
  readonly #letGo: () => void;

  /**
   * @param source the body's bytes, listened to from now on
   * @param letGo frees the connection when the reader cancels before the end (drains the rest
   *   for a moment, then cuts the request, not just the body)
   */
  constructor(source: Readable, letGo: () => void) {
    super();
    this.#source = source;
    this.#letGo = letGo;
    // A body that broke off before anyone read it: its events are gone, its state says so.
    if (source.errored) this.fail(source.errored);
    else if (source.destroyed && !source.readableEnded) this.fail(brokenOff());
    source.on('readable', this.#pull);
    source.on('end', this.#onEnd);
    source.on('error', this.#onError);
    source.on('close', this.#onClose);
  }

  protected override refill(): void {
    this.#take();
  }

  // Taken ahead again at once: a stream held back at the limit resumes while the reader works.
  protected override drained(): void {
    if (this.#source.readableLength > 0) this.#take();
  }

  protected override letGo(): void {
    // Off the source first: a body already complete is drained by `letGo` (its socket goes back
    // to the pool), and a paused stream with a `readable` listener would not flow.
    this.#source.off('readable', this.#pull);
    this.#source.off('end', this.#onEnd);
    this.#source.off('close', this.#onClose);
    this.#letGo();
  }

  /** Takes what the stream buffered, up to the limit ahead of the reader. */
  #take(): void {
    while (this.queuedBytes < AHEAD_BYTES) {
      const bytes = this.#source.read() as Uint8Array | null;
      if (bytes === null) return;
      this.enqueue(bytes);
    }
  }

  readonly #pull = (): void => {
    if (this.cancelled) return;
    this.#take();
    this.answer();
  };

  readonly #onEnd = (): void => {
    this.finish();
  };

  readonly #onError = (error: Error): void => {
    this.fail(error);
  };

  readonly #onClose = (): void => {
    // After `end` or `error` this says nothing new; before them, the connection went mid-body.
    this.fail(brokenOff());
  };
}

function brokenOff(): TypeError {
  return new TypeError('terminated: the provider closed the connection mid-answer.');
}
