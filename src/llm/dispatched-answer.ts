import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import { NodeBodyReader } from './node-body-reader.js';
import type { HeaderReader, ProviderBody, ProviderBodyReader, ProviderResponse } from './provider-response.js';

type ReadResult = ReadableStreamReadResult<Uint8Array>;
type Controller = Dispatcher.DispatchController;
type ResponseHeaders = Record<string, string | string[] | undefined>;

/**
 * Turns the bytes of a compressed answer back into the provider's (a zlib stream), or `undefined`
 * when the answer came as it is.
 */
export type AnswerDecoder = (headers: ResponseHeaders) => Duplex | undefined;

const DONE: ReadResult = Object.freeze({ done: true, value: undefined }) as ReadResult;

// Bytes kept ahead of the reader. Past this the request is paused: the socket waits, not memory.
const AHEAD_BYTES = 64 * 1024;

/** How long a body its reader left may take to end, drained unread, before the request is cut. */
export const DRAIN_GRACE_MS = 200;

/**
 * One provider request handed to undici's dispatcher, and its answer as the library reads it.
 *
 * It is undici's dispatch handler and, once the headers are in, the response, its body and that
 * body's one reader: one object a call instead of undici's `request` layer (a request handler, a
 * body `Readable` with its state and listeners, a reader over it), since what a turn keeps alive
 * while it waits on the provider is what 500 open streams multiply. Chunks are queued as undici
 * parses them (the chunks of one socket read become one batch at the next read) and handed over
 * joined; past {@link AHEAD_BYTES} ahead of the reader the request is paused.
 *
 * The signal aborts at any point: before the socket is connected (undici would only heed it
 * then, nodejs/undici#386) `answered` rejects at once and the request is cut when it starts.
 * A reader that cancels before the end lets the rest drain unread for {@link DRAIN_GRACE_MS}, so
 * the socket goes back to the pool, then cuts the request. A compressed answer is read through
 * the decoder `decode` gives, by a {@link NodeBodyReader}.
 * @internal
 */
export class DispatchedAnswer
  implements Dispatcher.DispatchHandler, ProviderResponse, ProviderBody, ProviderBodyReader, HeaderReader
{
  status = 0;
  ok = false;
  /** Resolves with this answer once its headers are in; rejects when no answer came. */
  readonly answered: Promise<ProviderResponse>;

  readonly #signal: AbortSignal;
  readonly #decode: AnswerDecoder;
  #controller: Controller | undefined;
  #settle: { resolve: (answer: ProviderResponse) => void; reject: (error: unknown) => void } | undefined;
  #headers: ResponseHeaders = {};
  #decoder: Duplex | undefined;
  #reader: ProviderBodyReader | undefined;
  #queued: Uint8Array[] = [];
  #queuedBytes = 0;
  #ended = false;
  #cancelled = false;
  #failure: unknown;
  #drainCut: ReturnType<typeof setTimeout> | undefined;
  #waiting: { resolve: (result: ReadResult) => void; reject: (error: unknown) => void } | undefined;

  constructor(signal: AbortSignal, decode: AnswerDecoder) {
    this.#signal = signal;
    this.#decode = decode;
    this.answered = new Promise((resolve, reject) => {
      this.#settle = { resolve, reject };
    });
    if (signal.aborted) this.#onAbort();
    else signal.addEventListener('abort', this.#onAbort, { once: true });
  }

  get headers(): HeaderReader {
    return this;
  }

  get body(): ProviderBody {
    return this;
  }

  /** A response header by name (undici lower-cases them); repeated ones joined as fetch joins them. */
  get(name: string): string | null {
    const value = this.#headers[name.toLowerCase()];
    if (value === undefined) return null;
    return Array.isArray(value) ? value.join(', ') : value;
  }

  getReader(): ProviderBodyReader {
    if (this.#reader) throw new TypeError('The provider response body is already being read.');
    const decoder = this.#decoder;
    this.#reader = decoder ? new NodeBodyReader(decoder, () => this.#cut(new Error('decoded body let go'))) : this;
    return this.#reader;
  }

  // --- undici's side: the dispatch handler ---

  onRequestStart(controller: Controller): void {
    this.#controller = controller;
    if (this.#signal.aborted) controller.abort(this.#signal.reason);
  }

  onResponseStart(controller: Controller, statusCode: number, headers: ResponseHeaders): void {
    // Informational answers (100 Continue) come before the real one.
    if (statusCode < 200) return;
    this.#controller = controller;
    this.status = statusCode;
    this.ok = statusCode >= 200 && statusCode < 300;
    this.#headers = headers;
    const decoder = this.#decode(headers);
    if (decoder) {
      this.#decoder = decoder;
      // Heard until a reader listens (and after): an error no one hears would crash the process.
      decoder.on('error', ignore);
      decoder.on('drain', () => controller.resume());
    }
    const settle = this.#settle;
    this.#settle = undefined;
    settle?.resolve(this);
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    if (this.#cancelled) return;
    if (this.#decoder) {
      if (!this.#decoder.write(chunk)) controller.pause();
      return;
    }
    this.#queued.push(chunk);
    this.#queuedBytes += chunk.byteLength;
    if (this.#queuedBytes >= AHEAD_BYTES) controller.pause();
    this.#answer();
  }

  onResponseEnd(): void {
    this.#ended = true;
    this.#finished();
    this.#decoder?.end();
    this.#answer();
  }

  onResponseError(_controller: Controller | undefined, error: Error): void {
    this.#finished();
    this.#fail(error);
  }

  // --- the library's side: the body's reader ---

  /** Everything that came since the last read, or `done` at the body's end; rejects when it broke off. */
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

  /** Stops reading: what came is dropped, the rest drained for a moment, a pending read resolves `done`. */
  cancel(): Promise<void> {
    if (!this.#ended && this.#failure === undefined && !this.#cancelled) {
      this.#drainCut = setTimeout(() => this.#cut(new Error('provider body let go')), DRAIN_GRACE_MS);
      this.#drainCut.unref?.();
      this.#controller?.resume();
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

  /** What a read gets now: queued bytes first, then the failure or the end; `undefined` means wait. */
  #next(): ReadResult | { failed: unknown } | undefined {
    if (this.#cancelled) return DONE;
    const queued = this.#queued;
    if (queued.length > 0) {
      this.#queued = [];
      this.#queuedBytes = 0;
      if (this.#controller?.paused) this.#controller.resume();
      return { done: false, value: queued.length === 1 ? (queued[0] as Uint8Array) : Buffer.concat(queued) };
    }
    if (this.#failure !== undefined) return { failed: this.#failure };
    return this.#ended ? DONE : undefined;
  }

  /** Answers the pending read, if any, with what there is now. */
  #answer(): void {
    const waiting = this.#waiting;
    const next = waiting && this.#next();
    if (!waiting || next === undefined) return;
    this.#waiting = undefined;
    if ('failed' in next) waiting.reject(next.failed);
    else waiting.resolve(next);
  }

  #fail(error: unknown): void {
    const settle = this.#settle;
    this.#settle = undefined;
    if (settle) {
      settle.reject(error);
      return;
    }
    if (this.#ended || this.#failure !== undefined || this.#cancelled) return;
    this.#failure = error;
    this.#decoder?.destroy(error instanceof Error ? error : new Error(String(error)));
    this.#answer();
  }

  /** Aborts the request (a no-op once it completed) and frees the decoder. */
  #cut(reason: Error): void {
    this.#controller?.abort(reason);
    this.#decoder?.destroy();
  }

  /** The request is over: no more aborts to follow, no drain to cut. */
  #finished(): void {
    this.#signal.removeEventListener('abort', this.#onAbort);
    if (this.#drainCut !== undefined) clearTimeout(this.#drainCut);
  }

  readonly #onAbort = (): void => {
    const reason = this.#signal.reason;
    // Before the socket is connected there is no controller yet: onRequestStart cuts it then.
    this.#controller?.abort(reason);
    this.#fail(reason);
  };
}

function ignore(): void {}
