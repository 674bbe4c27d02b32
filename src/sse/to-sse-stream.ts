import type { SseChunksOptions } from './sse-chunks.js';
import { isPipeable, sseChunks } from './sse-chunks.js';

/**
 * Wraps text chunks in a web `ReadableStream` of UTF-8 bytes.
 *
 * The stream has no read-ahead (`highWaterMark: 0`), so backpressure from the socket reaches the
 * producer: the iterator's `next()` runs only when the consumer asks for data, and chunks from
 * {@link sseChunks} are written into the stream as they come, one read at a time.
 * Cancelling the stream calls the iterator's `return()` without waiting for it to settle. An error
 * from the iterator errors the stream.
 *
 * @example
 * new Response(chunksToStream(sseChunks(events, { encode })), { headers: SSE_HEADERS });
 */
export function chunksToStream(chunks: AsyncIterator<string> | AsyncIterable<string>): ReadableStream<Uint8Array> {
  return textChunkStream(isAsyncIterable(chunks) ? chunks[Symbol.asyncIterator]() : chunks);
}

const ALWAYS = (): boolean => true;

/**
 * {@link chunksToStream} of an iterator, with `mayRead` asked before the first read and on cancel:
 * a stream whose chunks can also be taken another way (the Node bridge's) reads nothing, and
 * cancels nothing, once they were. Chunks from `sseChunks` are piped into the stream as they come
 * (no promise a chunk), one read at a time; other iterators are pulled.
 * @internal
 */
export function textChunkStream(
  chunks: AsyncIterator<string>,
  mayRead: () => boolean = ALWAYS,
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const cancel = (): void => {
    if (!mayRead()) return;
    try {
      chunks.return?.()?.then(undefined, () => {});
    } catch {
      // Nothing left to release when return() itself fails.
    }
  };
  const refuse = (controller: ReadableStreamDefaultController<Uint8Array>): boolean => {
    if (mayRead()) return false;
    controller.error(new TypeError('These chunks are already being read another way.'));
    return true;
  };
  if (!isPipeable(chunks)) {
    return new ReadableStream<Uint8Array>(
      {
        async pull(controller) {
          if (refuse(controller)) return;
          // Skip empty chunks: a zero-length read means nothing to a socket and confuses some readers.
          for (;;) {
            const step = await chunks.next();
            if (step.done === true) {
              controller.close();
              return;
            }
            if (step.value.length > 0) {
              controller.enqueue(encoder.encode(step.value));
              return;
            }
          }
        },
        cancel,
      },
      { highWaterMark: 0 },
    );
  }
  let piped = false;
  // Closed, errored or cancelled: the controller takes nothing more.
  let over = false;
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (piped) {
          chunks.resume();
          return;
        }
        if (refuse(controller)) return;
        piped = true;
        chunks.pipe({
          write(chunk) {
            if (over) return false;
            controller.enqueue(encoder.encode(chunk));
            // With no read-ahead, a chunk that met a waiting read leaves nothing wanted: wait for
            // the next pull (which may come during this enqueue, for a second waiting read).
            return (controller.desiredSize ?? 0) > 0;
          },
          end(error) {
            if (over) return;
            over = true;
            if (error === undefined) controller.close();
            else controller.error(error);
          },
        });
      },
      cancel() {
        over = true;
        cancel();
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
 * const body = toSseStream(service.chat(message, { history, signal }), {
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
