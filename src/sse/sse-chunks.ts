import { LlmChatError } from '../errors.js';
import { isPushSource, type PushSource } from '../internal/push-source.js';
import { encodeSseComment } from './encode-sse-event.js';

/** Options of {@link sseChunks}. */
export interface SseChunksOptions<T> {
  /** Turns one source item into a complete SSE frame (usually with `encodeSseEvent`). */
  encode: (item: T) => string;
  /**
   * Turns a failure of the source (or of `encode`) into the stream's last frame, which is then
   * delivered like any other, and the stream ends normally. Without it the consumer gets the
   * error thrown after the buffered frames.
   */
  encodeError?: (error: unknown) => string;
  /**
   * Idle time after which a `: ping` comment is handed out, in milliseconds. `0` disables it.
   * @default 15000
   */
  keepAliveMs?: number;
  /**
   * Buffered text above which the source is no longer pulled until the consumer catches up.
   * Measured in string length (UTF-16 code units), which is what the buffer holds in memory.
   * @default 65536
   */
  highWaterMark?: number;
  /**
   * Start pulling the source at once instead of on the first `next()`. The source then runs to
   * its end (within `highWaterMark`) and `onSettled` fires even when nobody ever reads the
   * stream, so what the source holds is never left to a reader that may not come.
   * @default false
   */
  eager?: boolean;
  /**
   * Aborting it cancels the stream, exactly like the consumer calling `return()`. On Node a
   * `Request`'s `signal` follows the host's only while the `Request` itself is referenced (undici
   * links the two weakly): the library's Node adapters keep it for the whole response; a host of
   * its own must keep it, or pass the signal it gave the `Request`.
   */
  signal?: AbortSignal;
  /**
   * Called once when the stream is cancelled before it finished (consumer `return()` or `signal`
   * abort). Use it to abort the real work: the source's own `return()` only takes effect once the
   * source reaches its next `yield`. Errors it throws are ignored.
   */
  onCancel?: () => void;
  /**
   * Called once when the source is finished for good: it ended or threw, or, after a cancel,
   * its `return()` settled (so its `finally` blocks have run). Use it to release what the
   * source's work held. Not called when the stream is never read (unless `eager`). Errors it
   * throws are ignored.
   */
  onSettled?: () => void;
}

const DEFAULT_KEEP_ALIVE_MS = 15_000;
const DEFAULT_HIGH_WATER_MARK = 65_536;
const PING = encodeSseComment('ping');
const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * Where {@link PipeableChunks.pipe} writes the chunks as they come (the Node bridge's socket).
 * @internal
 */
export interface ChunkSink {
  /** Takes one chunk; `false` asks for nothing more until {@link PipeableChunks.resume}. */
  write(chunk: string): boolean;
  /**
   * The stream is over after the chunks written, called once: its source ended, or failed with
   * `error` (only without `encodeError`, which makes a failure the last chunk), or the stream was
   * cancelled (no `error` then; a sink that cancelled it itself may ignore this).
   */
  end(error?: unknown): void;
}

/**
 * The chunks of {@link sseChunks}, which can also be written to a {@link ChunkSink} as they come:
 * no promise per chunk between the source and the sink.
 * @internal
 */
export interface PipeableChunks extends AsyncIterableIterator<string> {
  /**
   * Writes every chunk to `sink` from now on, instead of handing them to `next()` (which must
   * not be called then). Cancel with `return()`, as before.
   */
  pipe(sink: ChunkSink): void;
  /** The sink can take chunks again after its `write` returned `false`. */
  resume(): void;
}

/** Whether `chunks` can be piped (chunks from this module), or only pulled. @internal */
export function isPipeable(chunks: AsyncIterator<string>): chunks is PipeableChunks {
  return typeof (chunks as Partial<PipeableChunks>).pipe === 'function';
}

type Timer = ReturnType<typeof setTimeout>;
interface Waiter {
  resolve: (result: IteratorResult<string>) => void;
  reject: (error: unknown) => void;
}

/**
 * Turns a source of items into a stream of SSE text chunks, with coalescing, backpressure,
 * keep-alive comments and cancellation.
 *
 * - A pump pulls `source` and buffers the encoded frames. Each `next()` returns everything
 *   buffered as one string, so a slow consumer gets many frames per chunk.
 * - While more than `highWaterMark` is buffered the pump stops pulling, so a client that stops
 *   reading cannot grow memory without bound.
 * - After `keepAliveMs` without a chunk, a waiting consumer gets `: ping\n\n`. One `unref()`ed
 *   timer serves the whole stream; it re-checks a timestamp instead of being reset per frame.
 * - When the source ends, the buffered frames are delivered and then `done`. When it throws, its
 *   error is thrown to the consumer after the buffered frames.
 * - `return()` or an aborted `signal` stops the pump, calls `onCancel` once and asks the source
 *   to `return()` without waiting for it; later `next()` calls resolve `done`.
 *
 * The pump and the timer start on the first `next()`, or at once with `eager`.
 *
 * @throws {LlmChatError} `CONFIG_INVALID` for a negative or non-finite `keepAliveMs`, or a
 *   `highWaterMark` that is not a positive number.
 * @example
 * const chunks = sseChunks(chatEvents, {
 *   encode: (event) => encodeSseEvent({ event: event.type, data: event }),
 *   signal: request.signal,
 *   onCancel: () => turn.abort(),
 * });
 * for await (const chunk of chunks) socket.write(chunk);
 */
export function sseChunks<T>(source: AsyncIterable<T>, options: SseChunksOptions<T>): AsyncIterableIterator<string> {
  // Always pulled: a host's iterable that happens to have a `drain` method is not a push source.
  return new SseChunkIterator({ pull: source }, options);
}

/**
 * {@link sseChunks} over a source that can also be a {@link PushSource}, read as it calls back:
 * an item goes from the source to the buffer (or a piped sink) in the same step.
 * @internal
 */
export function pipeableSseChunks<T>(
  source: AsyncIterable<T> | PushSource<T>,
  options: SseChunksOptions<T>,
): PipeableChunks {
  return new SseChunkIterator(isPushSource(source) ? { push: source } : { pull: source }, options);
}

class SseChunkIterator<T> implements PipeableChunks {
  /** The source, when it is pulled (an async iterable). */
  readonly #source: AsyncIterator<T> | undefined;
  /** The source, when it calls back. */
  readonly #pushSource: PushSource<T> | undefined;
  readonly #encode: (item: T) => string;
  readonly #encodeError: ((error: unknown) => string) | undefined;
  readonly #keepAliveMs: number;
  readonly #highWaterMark: number;
  readonly #signal: AbortSignal | undefined;
  readonly #onCancel: (() => void) | undefined;
  readonly #onSettled: (() => void) | undefined;
  #settled = false;

  readonly #frames: string[] = [];
  #bufferedLength = 0;
  #started = false;
  /** Set once the pump has stopped for good (source done or failed, or cancelled). */
  #sourceEnded = false;
  #sourceError: { error: unknown } | undefined;
  /** Set once the consumer received `done` or the error, or cancelled. */
  #finished = false;
  #waiter: Waiter | undefined;
  #pending: Promise<IteratorResult<string>> | undefined;
  #resumePump: (() => void) | undefined;
  #timer: Timer | undefined;
  #lastChunkAt = 0;
  #sink: ChunkSink | undefined;
  #sinkEnded = false;
  /** The sink's last `write` returned `false`: frames wait in the buffer until `resume()`. */
  #sinkPaused = false;
  /** A `write` to the sink is running: a `resume()` it causes (a web stream's next pull) is noted, not acted on. */
  #inSinkWrite = false;
  #resumedInWrite = false;

  constructor(source: { pull: AsyncIterable<T> } | { push: PushSource<T> }, options: SseChunksOptions<T>) {
    const keepAliveMs = options.keepAliveMs ?? DEFAULT_KEEP_ALIVE_MS;
    const highWaterMark = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
    if (!Number.isFinite(keepAliveMs) || keepAliveMs < 0) {
      throw new LlmChatError('CONFIG_INVALID', 'keepAliveMs must be a non-negative number of milliseconds.');
    }
    if (!(highWaterMark > 0)) {
      throw new LlmChatError('CONFIG_INVALID', 'highWaterMark must be a positive number.');
    }
    if ('push' in source) this.#pushSource = source.push;
    else this.#source = source.pull[Symbol.asyncIterator]();
    this.#encode = options.encode;
    this.#encodeError = options.encodeError;
    this.#keepAliveMs = keepAliveMs;
    this.#highWaterMark = highWaterMark;
    this.#signal = options.signal;
    this.#onCancel = options.onCancel;
    this.#onSettled = options.onSettled;
    if (this.#signal !== undefined) {
      if (this.#signal.aborted) this.#cancel();
      else this.#signal.addEventListener('abort', this.#onAbort, { once: true });
    }
    if (options.eager === true && !this.#finished) this.#start();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<string>> {
    if (this.#finished || this.#sink !== undefined) return Promise.resolve(DONE);
    // Concurrent next() calls queue behind the pending one, as with async generators.
    if (this.#pending !== undefined) {
      const retry = () => this.next();
      return this.#pending.then(retry, retry);
    }
    if (!this.#started) this.#start();
    if (this.#frames.length > 0) return Promise.resolve({ done: false, value: this.#take() });
    if (this.#sourceEnded) {
      const failure = this.#end();
      return failure === undefined ? Promise.resolve(DONE) : Promise.reject(failure.error);
    }
    if (this.#keepAliveMs > 0 && Date.now() - this.#lastChunkAt >= this.#keepAliveMs) {
      // The consumer was busy when the ping fell due; give it now.
      this.#lastChunkAt = Date.now();
      return Promise.resolve({ done: false, value: PING });
    }
    const pending = new Promise<IteratorResult<string>>((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
    this.#pending = pending;
    return pending;
  }

  return(): Promise<IteratorResult<string>> {
    this.#cancel();
    return Promise.resolve(DONE);
  }

  pipe(sink: ChunkSink): void {
    if (this.#sink !== undefined || this.#pending !== undefined) {
      throw new TypeError('These chunks already have a reader.');
    }
    this.#sink = sink;
    if (this.#finished) {
      this.#endSink();
      return;
    }
    if (!this.#started) this.#start();
    this.#feedSink();
  }

  resume(): void {
    if (this.#inSinkWrite) {
      this.#resumedInWrite = true;
      return;
    }
    if (!this.#sinkPaused) return;
    this.#sinkPaused = false;
    this.#feedSink();
  }

  #start(): void {
    this.#started = true;
    this.#lastChunkAt = Date.now();
    if (this.#keepAliveMs > 0) this.#armTimer(this.#keepAliveMs);
    if (this.#pushSource === undefined) void this.#pump();
    else this.#drainPushSource();
  }

  /**
   * Takes what the push source holds, up to the high-water mark, then asks to be called back for
   * more (or, above the mark, waits for the consumer to take the buffer).
   */
  readonly #drainPushSource = (): void => {
    const source = this.#pushSource as PushSource<T>;
    if (this.#sourceEnded) return;
    let ended: boolean;
    try {
      ended = source.drain(this.#takeItem);
    } catch (error) {
      if (this.#sourceEnded) return;
      source.close();
      this.#fail(error);
      ended = true;
    }
    // Cancelled while draining: the cancel closed the source already.
    if (this.#sourceEnded) return;
    if (ended) this.#sourceFinished();
    else if (this.#bufferedLength > this.#highWaterMark) this.#resumePump = this.#drainPushSource;
    else source.onReady(this.#drainPushSource);
  };

  readonly #takeItem = (item: T): boolean => {
    this.#push(this.#encode(item));
    return !this.#sourceEnded && this.#bufferedLength <= this.#highWaterMark;
  };

  async #pump(): Promise<void> {
    const source = this.#source as AsyncIterator<T>;
    try {
      while (!this.#sourceEnded) {
        if (this.#bufferedLength > this.#highWaterMark) {
          await new Promise<void>((resolve) => {
            this.#resumePump = resolve;
          });
          continue;
        }
        const result = await source.next();
        // Cancelled while the source was working: drop what it produced.
        if (this.#sourceEnded) return;
        if (result.done === true) break;
        let frame: string;
        try {
          frame = this.#encode(result.value);
        } catch (error) {
          this.#closeSource();
          throw error;
        }
        this.#push(frame);
      }
    } catch (error) {
      if (this.#sourceEnded) return;
      this.#fail(error);
    }
    this.#sourceFinished();
  }

  /** The source ended or failed (its failure kept by `#fail`): tell whoever waits once the buffer is out. */
  #sourceFinished(): void {
    this.#sourceEnded = true;
    this.#settle();
    if (this.#sink !== undefined) {
      this.#feedSink();
      return;
    }
    if (this.#waiter === undefined) return;
    const failure = this.#end();
    if (failure === undefined) this.#resolve(DONE);
    else this.#reject(failure.error);
  }

  /** Writes the buffer to the sink while it takes chunks, then its end once the source is done. */
  #feedSink(): void {
    while (!this.#finished && !this.#sinkPaused && this.#frames.length > 0) {
      this.#write(this.#takeFrames());
      // After the write: a push source resumed here writes its next frames straight to the sink.
      this.#resumeSource();
    }
    if (this.#finished || this.#sinkPaused || !this.#sourceEnded || this.#frames.length > 0) return;
    const failure = this.#end();
    this.#endSink(failure);
  }

  /** Tells the sink the stream is over (once). */
  #endSink(failure?: { error: unknown }): void {
    const sink = this.#sink;
    if (sink === undefined || this.#sinkEnded) return;
    this.#sinkEnded = true;
    try {
      if (failure === undefined) sink.end();
      else sink.end(failure.error);
    } catch {
      // The stream is over either way; a failing sink must not turn its end into a crash.
    }
  }

  #write(chunk: string): void {
    if (this.#keepAliveMs > 0) this.#lastChunkAt = Date.now();
    this.#inSinkWrite = true;
    this.#resumedInWrite = false;
    let accepted: boolean;
    try {
      accepted = (this.#sink as ChunkSink).write(chunk);
    } catch {
      // A sink that cannot take a chunk is gone: stop as if it had left.
      this.#inSinkWrite = false;
      this.#cancel();
      return;
    }
    this.#inSinkWrite = false;
    this.#sinkPaused = !accepted && !this.#resumedInWrite;
  }

  /** Keeps the source's failure for the consumer, or its last frame with `encodeError`. */
  #fail(error: unknown): void {
    if (this.#encodeError === undefined) {
      this.#sourceError = { error };
      return;
    }
    try {
      this.#push(this.#encodeError(error));
    } catch (encodingError) {
      this.#sourceError = { error: encodingError };
    }
  }

  #push(frame: string): void {
    if (frame.length === 0) return;
    if (this.#sink !== undefined && !this.#sinkPaused && this.#frames.length === 0 && !this.#finished) {
      this.#write(frame);
      return;
    }
    this.#frames.push(frame);
    this.#bufferedLength += frame.length;
    if (this.#waiter !== undefined) this.#resolve({ done: false, value: this.#take() });
  }

  /** Hands out everything buffered as one chunk and lets a paused pump resume. */
  #take(): string {
    const chunk = this.#takeFrames();
    if (this.#keepAliveMs > 0) this.#lastChunkAt = Date.now();
    this.#resumeSource();
    return chunk;
  }

  #takeFrames(): string {
    const frames = this.#frames;
    const chunk = frames.length === 1 ? (frames[0] as string) : frames.join('');
    frames.length = 0;
    this.#bufferedLength = 0;
    return chunk;
  }

  /** Lets a pump paused at the high-water mark go on (a push source drains again at once). */
  #resumeSource(): void {
    const resume = this.#resumePump;
    if (resume !== undefined) {
      this.#resumePump = undefined;
      resume();
    }
  }

  /** Finishes after the source ended; returns the source's failure, if it failed. */
  #end(): { error: unknown } | undefined {
    this.#finish();
    const failure = this.#sourceError;
    this.#sourceError = undefined;
    return failure;
  }

  #reject(error: unknown): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    this.#pending = undefined;
    waiter?.reject(error);
  }

  #resolve(result: IteratorResult<string>): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    this.#pending = undefined;
    waiter?.resolve(result);
  }

  readonly #onAbort = (): void => {
    this.#cancel();
  };

  #cancel(): void {
    if (this.#finished) return;
    const sourceWasRunning = !this.#sourceEnded;
    this.#sourceEnded = true;
    this.#sourceError = undefined;
    this.#frames.length = 0;
    this.#bufferedLength = 0;
    this.#finish();
    const resume = this.#resumePump;
    this.#resumePump = undefined;
    resume?.();
    this.#resolve(DONE);
    if (sourceWasRunning) this.#closeSource();
    else this.#settle();
    try {
      this.#onCancel?.();
    } catch {
      // The stream is already torn down; a failing callback must not turn cancel into a crash.
    }
    // A cancel the sink did not ask for (the signal) still ends it, as `done` ends a reader.
    this.#endSink();
  }

  /** Asks the source to finish without waiting: a generator parked in an await returns only later. */
  #closeSource(): void {
    const settle = () => this.#settle();
    if (this.#pushSource !== undefined) {
      this.#pushSource.close();
      settle();
      return;
    }
    try {
      const closing = (this.#source as AsyncIterator<T>).return?.();
      if (closing === undefined) settle();
      else closing.then(settle, settle);
    } catch {
      // A source whose return() throws has nothing more to release.
      settle();
    }
  }

  #settle(): void {
    if (this.#settled) return;
    this.#settled = true;
    try {
      this.#onSettled?.();
    } catch {
      // Same as onCancel: the stream is over; a failing callback must not crash it.
    }
  }

  #finish(): void {
    this.#finished = true;
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    this.#signal?.removeEventListener('abort', this.#onAbort);
  }

  #armTimer(delayMs: number): void {
    const timer = setTimeout(this.#onTimer, delayMs);
    // Deno and browsers return a number; Node returns an object that can stop holding the loop open.
    if (typeof timer === 'object' && typeof timer.unref === 'function') timer.unref();
    this.#timer = timer;
  }

  readonly #onTimer = (): void => {
    this.#timer = undefined;
    if (this.#finished) return;
    const idleMs = Date.now() - this.#lastChunkAt;
    if (idleMs < this.#keepAliveMs) {
      this.#armTimer(this.#keepAliveMs - idleMs);
      return;
    }
    // With no consumer waiting, next() notices the overdue ping itself.
    if (this.#waiter !== undefined) {
      this.#lastChunkAt = Date.now();
      this.#resolve({ done: false, value: PING });
    } else if (this.#sink !== undefined && !this.#sinkPaused && this.#frames.length === 0) {
      this.#write(PING);
    }
    this.#armTimer(this.#keepAliveMs);
  };
}
