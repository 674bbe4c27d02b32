import type { SseChunksOptions } from './sse-chunks.js';
import { sseChunks } from './sse-chunks.js';

/**
 * Wraps text chunks in a web `ReadableStream` of UTF-8 bytes.
 *
 * The stream is pull-based with no read-ahead (`highWaterMark: 0`): the iterator's `next()` runs
 * only when the consumer asks for data, so backpressure from the socket reaches the producer.
 * Cancelling the stream calls the iterator's `return()` without waiting for it to settle. An error
 * from the iterator errors the stream.
 *
 * @example
 * new Response(chunksToStream(sseChunks(events, { encode })), { headers: SSE_HEADERS });
 */
export function chunksToStream(chunks: AsyncIterator<string> | AsyncIterable<string>): ReadableStream<Uint8Array> {
  const iterator = isAsyncIterable(chunks) ? chunks[Symbol.asyncIterator]() : chunks;
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        // Skip empty chunks: a zero-length read means nothing to a socket and confuses some readers.
        for (;;) {
          const result = await iterator.next();
          if (result.done === true) {
            controller.close();
            return;
          }
          if (result.value.length > 0) {
            controller.enqueue(encoder.encode(result.value));
            return;
          }
        }
      },
      cancel() {
        try {
          iterator.return?.()?.then(undefined, () => {});
        } catch {
          // Nothing left to release when return() itself fails.
        }
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * Turns a source of items into an SSE byte stream: {@link sseChunks} (coalescing, backpressure,
 * `: ping` keep-alives, cancellation) wrapped by {@link chunksToStream}.
 *
 * @example
 * const body = toSseStream(service.run(input, { signal }), {
 *   encode: (event) => encodeSseEvent({ event: event.type, id: ++seq, data: event }),
 *   signal: request.signal,
 *   onCancel: () => controller.abort(),
 * });
 * return new Response(body, { headers: SSE_HEADERS });
 */
export function toSseStream<T>(source: AsyncIterable<T>, options: SseChunksOptions<T>): ReadableStream<Uint8Array> {
  return chunksToStream(sseChunks(source, options));
}

function isAsyncIterable(value: AsyncIterator<string> | AsyncIterable<string>): value is AsyncIterable<string> {
  return typeof (value as Partial<AsyncIterable<string>>)[Symbol.asyncIterator] === 'function';
}
