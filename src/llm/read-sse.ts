import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { LlmChatError } from '../errors.js';
import { Utf8ChunkDecoder } from '../internal/utf8-chunk-decoder.js';
import { type BodyBatchesOptions, type BodyDecoder, readBodyBatches } from './body-batches.js';

/** Options of {@link readSse}. */
export interface ReadSseOptions extends BodyBatchesOptions {
  /**
   * Largest buffered line or event, in characters; a bigger one fails the stream.
   * @default 8388608
   */
  maxBufferSize?: number;
}

const DEFAULT_MAX_BUFFER_SIZE = 8 * 1024 * 1024;
const NONE: never[] = [];
const CR = 13;
const LF = 10;

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
  for await (const batch of readBodyBatches(body, sseDecoder(options.maxBufferSize), options)) yield* batch;
}

/**
 * Decodes an SSE body: UTF-8 text cut into events, each network chunk giving the events it
 * completes. A line or event longer than `maxBufferSize` characters is a `PROVIDER_ERROR`.
 * @internal
 */
export function sseDecoder(maxBufferSize = DEFAULT_MAX_BUFFER_SIZE): BodyDecoder<EventSourceMessage> {
  const text = new Utf8ChunkDecoder();
  let pending: EventSourceMessage[] = [];
  let overflow = false;
  const parser = createParser({
    onEvent: (message) => pending.push(message),
    // Other parse errors (unknown field, bad retry) are ignorable by the SSE spec.
    onError: (error) => {
      if (error.type === 'max-buffer-size-exceeded') overflow = true;
    },
    maxBufferSize,
  });
  // Whether the text fed last ended with a CR, made a whole line ending by an added LF.
  let afterCr = false;
  // The parser keeps a CR that ends a chunk until the next one says whether an LF follows: with
  // CR-only line endings, every event would wait for the next chunk and the last one be lost. So
  // such a CR is ended here, and an LF opening the next text is dropped as the rest of its CRLF.
  const feed = (chunkText: string): void => {
    let input = chunkText;
    if (afterCr && input.length > 0) {
      afterCr = false;
      if (input.charCodeAt(0) === LF) input = input.slice(1);
    }
    if (input.length > 0 && input.charCodeAt(input.length - 1) === CR) {
      afterCr = true;
      input += '\n';
    }
    parser.feed(input);
  };
  const take = (): EventSourceMessage[] => {
    if (overflow) throw new LlmChatError('PROVIDER_ERROR', 'The provider sent a stream event that is too large.');
    if (pending.length === 0) return NONE;
    const batch = pending;
    pending = [];
    return batch;
  };
  return {
    decode(chunk) {
      feed(text.decode(chunk));
      return take();
    },
    end() {
      feed(text.end());
      return take();
    },
  };
}
