import type { ProviderBodyReader } from './provider-response.js';

type ReadResult = ReadableStreamReadResult<Uint8Array>;

const DONE: ReadResult = Object.freeze({ done: true, value: undefined }) as ReadResult;

/** What a {@link QueuedBodyReader.readEach} reader is answered with when its `take` stopped it. */
const TAKEN: ReadResult = Object.freeze({ done: false, value: undefined }) as unknown as ReadResult;

/** A pending read: `take` set for a {@link QueuedBodyReader.readEach} reader, which gets chunks in place. */
interface Waiting {
  take?: (chunk: Uint8Array) => boolean;
  resolve: (result: ReadResult) => void;
  reject: (error: unknown) => void;
}

/** Bytes kept ahead of the reader before the source is held back (the socket waits, not memory). */
export const AHEAD_BYTES = 64 * 1024;

/**
 * A provider body's one reader over a queue of chunks, read the way a web stream's reader reads:
 * a read gets everything queued since the last one, joined (one batch, one frame and one socket
 * write downstream), then the failure or the end; a pending read is answered as soon as there is
 * something. Subclasses feed it ({@link enqueue}, {@link finish}, {@link fail}) and say how their
 * source is refilled, resumed and let go.
 * @internal
 */
export abstract class QueuedBodyReader implements ProviderBodyReader {
  #queued: Uint8Array[] = [];
  #queuedBytes = 0;
  #ended = false;
  #cancelled = false;
  #failure: unknown;
  /** The pending read, or the reader handed each chunk as it comes ({@link readEach}). */
  #waiting: Waiting | undefined;
  /** An {@link answer} is on the stack: one that a chunk fed from inside it starts must leave the chunk to it. */
  #answering = false;
  /** A {@link readEach} reader is to be handed what came, at the end of this step. */
  #takeScheduled = false;

  /** Everything that came since the last read, or `done` at the body's end; rejects when the body broke off. */
  read(): Promise<ReadResult> {
    if (this.#waiting) return Promise.reject(new TypeError('A provider body is read one read at a time.'));
    const next = this.#next();
    if (next === undefined) {
      return new Promise((resolve, reject) => {
        this.#waiting = { resolve, reject };
      });
    }
    return 'failed' in next ? Promise.reject(next.failed) : Promise.resolve(next);
  }

  /**
   * Hands what comes to `take` as it comes (what one step of the source brought, joined, right
   * after that step; what is queued already, right after this call), until `take` returns
   * `false` or the body is over: a body read this way costs no promise a chunk.
   * Resolves `true` when `take` stopped it, `false` at the body's end or a cancel; rejects when
   * the body broke off or `take` threw (the chunks after stay queued).
   */
  readEach(take: (chunk: Uint8Array) => boolean): Promise<boolean> {
    if (this.#waiting) return Promise.reject(new TypeError('A provider body is read one read at a time.'));
    const taken = new Promise<boolean>((resolve, reject) => {
      this.#waiting = { take, resolve: (result) => resolve(!result.done), reject };
    });
    this.answer();
    return taken;
  }

  /** Stops reading: what came is dropped, the source let go, a pending read resolves `done`. */
  cancel(): Promise<void> {
    const open = !this.settled;
    // Cancelled and emptied before the source is let go: letting go may resume a paused source,
    // which can feed chunks back at once; they must be dropped, not queued against the limit.
    this.#cancelled = true;
    this.#queued = [];
    this.#queuedBytes = 0;
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.resolve(DONE);
    if (open) this.letGo();
    return Promise.resolve();
  }

  /** Nothing to release: the reader is the only one. */
  releaseLock(): void {}

  /** Bytes queued and not read yet. */
  protected get queuedBytes(): number {
    return this.#queuedBytes;
  }

  /** Whether the reader cancelled. */
  protected get cancelled(): boolean {
    return this.#cancelled;
  }

  /** Whether the body is over for the reader: ended, failed or cancelled. */
  protected get settled(): boolean {
    return this.#ended || this.#failure !== undefined || this.#cancelled;
  }

  /** Called with nothing queued before a read is answered: a pulling reader takes what its source holds. */
  protected refill(): void {}

  /** Called right after a read took the queue: a source held back may go on. */
  protected drained(): void {}

  /** The reader cancelled before the body was over: free the source (and its connection). */
  protected abstract letGo(): void;

  /** Queues a chunk; call {@link answer} once a run of chunks is in. */
  protected enqueue(chunk: Uint8Array): void {
    this.#queued.push(chunk);
    this.#queuedBytes += chunk.byteLength;
  }

  /** The body ended: reads get what is queued, then `done`. */
  protected finish(): void {
    this.#ended = true;
    this.answer();
  }

  /** The body broke off: reads get what is queued, then `error`. Ignored once the body is over. */
  protected fail(error: unknown): void {
    if (this.settled) return;
    this.#failure = error;
    this.answer();
  }

  /**
   * Answers the pending read, if any, with what there is now. A {@link readEach} reader gets what
   * came once the step that fed it is over: undici hands over the chunks of one socket read one
   * by one, and a fast provider puts hundreds of tokens in one read, which then go out together
   * (one event, one frame, one socket write) as a read's promise gave them, with no promise.
   */
  protected answer(): void {
    const waiting = this.#waiting;
    if (waiting === undefined) return;
    if (waiting.take === undefined) this.#answerNow();
    else if (!this.#takeScheduled) {
      this.#takeScheduled = true;
      queueMicrotask(this.#answerScheduled);
    }
  }

  readonly #answerScheduled = (): void => {
    this.#takeScheduled = false;
    this.#answerNow();
  };

  #answerNow(): void {
    // Taking a chunk may resume the source, which may feed the next one from inside this call:
    // the loop below hands it over after this one, in order.
    if (this.#answering) return;
    this.#answering = true;
    try {
      this.#answerWaiting();
    } finally {
      this.#answering = false;
    }
  }

  #answerWaiting(): void {
    for (let waiting = this.#waiting; waiting !== undefined && waiting === this.#waiting; ) {
      const next = this.#next();
      if (next === undefined) return;
      if ('failed' in next) {
        this.#waiting = undefined;
        waiting.reject(next.failed);
        return;
      }
      if (next.done || waiting.take === undefined) {
        this.#waiting = undefined;
        waiting.resolve(next);
        return;
      }
      let more: boolean;
      try {
        more = waiting.take(next.value);
      } catch (error) {
        if (this.#waiting === waiting) this.#waiting = undefined;
        waiting.reject(error);
        return;
      }
      // A take that cancelled the body has had its answer (`done`) already.
      if (!more && this.#waiting === waiting) {
        this.#waiting = undefined;
        waiting.resolve(TAKEN);
      }
    }
  }

  /** What a read gets now: queued bytes first, then the failure or the end; `undefined` means wait. */
  #next(): ReadResult | { failed: unknown } | undefined {
    if (this.#cancelled) return DONE;
    if (this.#queuedBytes === 0 && !this.#ended && this.#failure === undefined) this.refill();
    const queued = this.#queued;
    if (queued.length > 0) {
      this.#queued = [];
      this.#queuedBytes = 0;
      this.drained();
      return { done: false, value: queued.length === 1 ? (queued[0] as Uint8Array) : Buffer.concat(queued) };
    }
    if (this.#failure !== undefined) return { failed: this.#failure };
    return this.#ended ? DONE : undefined;
  }
}
