import type { AbortSource } from '../internal/lazy-abort.js';
import { throwIfAborted } from '../internal/throw-if-aborted.js';
import type { ProviderBody, ProviderBodyReader } from './provider-response.js';

/**
 * Cuts a provider's response body into wire messages (SSE events, AWS event-stream frames), one
 * network chunk at a time. Synchronous: the caller's read of the body is the only async step.
 * @internal
 */
export interface BodyDecoder<M> {
  /** The messages this chunk completes (often none or one). Throws `PROVIDER_ERROR` for a malformed body. */
  decode(chunk: Uint8Array): M[];
  /** The messages left once the body ended. Throws when it ended in the middle of one. */
  end(): M[];
}

/** Options of {@link BodyBatches}. @internal */
export interface BodyBatchesOptions {
  /** Aborting cancels the body, and the pending or next read throws the signal's reason. */
  signal?: AbortSource;
  /** Called for every raw chunk of the body, before decoding (used for first-chunk timeouts). */
  onChunk?: () => void;
}

// The reason given when a body is left before its end (the parser saw the last event first).
// Shared: with no reason, undici's fetch builds a fresh DOMException (with its stack) on every
// cancel, which cost about as much as parsing a short answer.
const READ_FINISHED = new Error('The stream was read as far as needed.');

/**
 * Reads a response body as batches of messages, one batch a network chunk.
 *
 * Not an async generator on purpose: a provider call reads its body in its own loop, and a
 * generator between the body and that loop cost an async step and half a kilobyte for every
 * streamed token. {@link close} must run whatever happens (a `finally`): it cancels a body left
 * half-read, so its connection is freed.
 * @internal
 */
export class BodyBatches<M> {
  readonly #reader: ProviderBodyReader;
  readonly #decoder: BodyDecoder<M>;
  readonly #signal: AbortSource | undefined;
  readonly #onChunk: (() => void) | undefined;
  #done = false;
  #closed = false;
  // A custom fetch may not tie its body to the signal: cancelling the reader ends a pending read.
  readonly #onAbort = (): void => {
    this.#reader.cancel(this.#signal?.reason).catch(() => {});
  };

  constructor(body: ProviderBody, decoder: BodyDecoder<M>, options: BodyBatchesOptions = {}) {
    this.#reader = body.getReader();
    this.#decoder = decoder;
    this.#signal = options.signal;
    this.#onChunk = options.onChunk;
    this.#signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  /** The messages of the next network chunk (maybe none), or `undefined` once the body has ended. */
  async next(): Promise<M[] | undefined> {
    if (this.#done) return undefined;
    throwIfAborted(this.#signal);
    const result = await this.#reader.read();
    throwIfAborted(this.#signal);
    if (result.done) {
      this.#done = true;
      return this.#decoder.end();
    }
    this.#onChunk?.();
    return this.#decoder.decode(result.value);
  }

  /**
   * Hands `onBatch` the messages of each network read (maybe none) right after the read, with
   * no promise, until it returns `false` (resolves `true`: call again to go on) or the body has
   * ended (resolves `false`, after a last batch of what the decoder held). Over a reader with
   * no `readEach` (a web stream's), one {@link next} a chunk. Throws what {@link next} throws,
   * and what `onBatch` throws.
   */
  readEach(onBatch: (batch: M[]) => boolean): Promise<boolean> {
    const reader = this.#reader;
    if (this.#done || reader.readEach === undefined) return this.#readEachByNext(onBatch);
    throwIfAborted(this.#signal);
    return reader.readEach(this.#takeChunkFor(onBatch)).then((stopped) => {
      throwIfAborted(this.#signal);
      if (stopped) return true;
      this.#done = true;
      return !onBatch(this.#decoder.end());
    });
  }

  #takeChunkFor(onBatch: (batch: M[]) => boolean): (chunk: Uint8Array) => boolean {
    // No abort check here: an abort cancels the reader (#onAbort), which ends its readEach at once.
    return (chunk) => {
      this.#onChunk?.();
      return onBatch(this.#decoder.decode(chunk));
    };
  }

  async #readEachByNext(onBatch: (batch: M[]) => boolean): Promise<boolean> {
    let batch = await this.next();
    while (batch !== undefined) {
      if (!onBatch(batch)) {
        // As over a reader's own readEach: an abort from inside `onBatch` (a text sink that
        // stopped the call) is thrown here, before the caller goes on to what `onBatch` left.
        throwIfAborted(this.#signal);
        return !this.#done;
      }
      // Let go before the wait for the next chunk, which can take seconds: a message's data is a
      // slice of its chunk's text, and a slice keeps all of that text alive.
      batch = undefined;
      batch = await this.next();
    }
    return false;
  }

  /** Lets the body go: cancelled unless it was read to its end, then unlocked. Never rejects. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#signal?.removeEventListener('abort', this.#onAbort);
    if (!this.#done) await this.#reader.cancel(READ_FINISHED).catch(() => {});
    try {
      this.#reader.releaseLock();
    } catch {
      // Already released or errored: nothing left to free.
    }
  }
}

/**
 * A body's messages as an async iterable of batches (non-empty), for readers that are not a
 * provider call's own loop. Leaving the loop early cancels the body.
 * @internal
 */
export async function* readBodyBatches<M>(
  body: ProviderBody,
  decoder: BodyDecoder<M>,
  options: BodyBatchesOptions = {},
): AsyncGenerator<M[], void, undefined> {
  const batches = new BodyBatches(body, decoder, options);
  try {
    for (let batch = await batches.next(); batch !== undefined; batch = await batches.next()) {
      if (batch.length > 0) yield batch;
    }
  } finally {
    await batches.close();
  }
}
