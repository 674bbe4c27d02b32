import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { LlmChatError } from '../errors.js';
import { throwIfAborted } from '../internal/throw-if-aborted.js';
import { Utf8ChunkDecoder } from '../internal/utf8-chunk-decoder.js';

/** Options of {@link readSse}. */
export interface ReadSseOptions {
  /** Aborting cancels the body and makes the iterable throw the signal's reason. */
  signal?: AbortSignal;
  /** Called for every raw chunk of the body, before parsing (used for first-chunk timeouts). */
  onChunk?: () => void;
  /**
   * Largest buffered line or event, in characters; a bigger one fails the stream.
   * @default 8388608
   */
  maxBufferSize?: number;
}

const DEFAULT_MAX_BUFFER_SIZE = 8 * 1024 * 1024;

// The reason given when a body is left before its end (the parser saw the last event first).
// Shared: with no reason, undici's fetch builds a fresh DOMException (with its stack) on every
// cancel, which cost about as much as parsing a short answer.
const READ_FINISHED = new Error('The stream was read as far as needed.');

/**
 * Turns a `fetch` response body into an async iterable of parsed Server-Sent Events.
 *
 * Events follow the SSE rules of `eventsource-parser`: unknown fields are ignored and an event
 * left without its closing blank line at the end of the body is dropped. Leaving the loop early
 * (`break`, `return`, a throw) cancels the body and releases the reader, so the connection is
 * not left half-read.
 *
 * @example
 * const response = await fetch(url, { method: 'POST', body });
 * for await (const message of readSse(response.body!)) {
 *   if (message.data === '[DONE]') break;
 *   handle(message.event, JSON.parse(message.data));
 * }
 */
export async function* readSse(
  body: ReadableStream<Uint8Array>,
  options: ReadSseOptions = {},
): AsyncGenerator<EventSourceMessage, void, undefined> {
  for await (const batch of readSseBatches(body, options)) yield* batch;
}

/**
 * {@link readSse}, one array of events per network chunk. A provider often packs many tokens
 * into one chunk; taking them together saves an async step per token on the hot path.
 * @internal
 */
export async function* readSseBatches(
  body: ReadableStream<Uint8Array>,
  options: ReadSseOptions = {},
): AsyncGenerator<EventSourceMessage[], void, undefined> {
  const { signal, onChunk } = options;
  const reader = body.getReader();
  const decoder = new Utf8ChunkDecoder();
  let pending: EventSourceMessage[] = [];
  let overflow = false;
  const parser = createParser({
    onEvent: (message) => pending.push(message),
    // Other parse errors (unknown field, bad retry) are ignorable by the SSE spec.
    onError: (error) => {
      if (error.type === 'max-buffer-size-exceeded') overflow = true;
    },
    maxBufferSize: options.maxBufferSize ?? DEFAULT_MAX_BUFFER_SIZE,
  });

  let done = false;
  // A custom fetch may not tie its body to the signal: cancelling the reader ends a pending read.
  const onAbort = () => {
    reader.cancel(signal?.reason).catch(() => {});
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    throwIfAborted(signal);
    while (true) {
      const result = await reader.read();
      throwIfAborted(signal);
      if (result.done) {
        done = true;
        parser.feed(decoder.end());
      } else {
        onChunk?.();
        parser.feed(decoder.decode(result.value));
      }
      if (overflow) throw new LlmChatError('PROVIDER_ERROR', 'The provider sent a stream event that is too large.');
      if (pending.length > 0) {
        const batch = pending;
        pending = [];
        yield batch;
      }
      if (done) return;
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (!done) await reader.cancel(READ_FINISHED).catch(() => {});
    try {
      reader.releaseLock();
    } catch {
      // Already released or errored: nothing left to free.
    }
  }
}
