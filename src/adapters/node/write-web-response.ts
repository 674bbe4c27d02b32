import type { ServerResponse } from 'node:http';
import { takeNodeBody } from '../../http/node-body.js';
import { type ChunkSink, isPipeable, type PipeableChunks } from '../../sse/sse-chunks.js';
import { waitForDrain } from './wait-for-drain.js';

/** Options of {@link writeWebResponse}. */
export interface WriteWebResponseOptions {
  /** Stops the body, as if the client had left, when it aborts. @default undefined */
  signal?: AbortSignal;
}

type Step = IteratorResult<string | Uint8Array, unknown>;
const DONE: Step = { done: true, value: undefined };
const noop = (): void => {};

/**
 * Writes a web `Response` to a Node `ServerResponse`: status, headers (each `Set-Cookie` kept
 * apart), then the body chunk by chunk with backpressure.
 *
 * The body comes from the Response's Node fast path when it has one that nobody touched, else
 * from `response.body`; never both. Event streams get their headers flushed before the first event, and every chunk is
 * followed by `res.flush()` when a compression middleware provides it, so nothing is held back.
 * When the client leaves (or `signal` aborts) the body source is cancelled and the promise
 * resolves; an error from the body ends the response instead of reaching the host. Headers that
 * cannot be set throw at once, before anything is written; the promise never rejects.
 */
export function writeWebResponse(
  response: Response,
  res: ServerResponse,
  options: WriteWebResponseOptions = {},
): Promise<void> {
  res.statusCode = response.status;
  response.headers.forEach((value, name) => {
    if (name !== 'set-cookie') res.setHeader(name, value);
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) res.setHeader('set-cookie', cookies);
  // Answered before the request body arrived (a 413, a 401): the unread rest makes the socket
  // unusable for the next request, so tell the client not to reuse it. HTTP/1 only: HTTP/2 has
  // no such header (Node drops it with a process warning) and a stream of its own per request.
  if (res.req && !res.req.complete && res.req.httpVersionMajor === 1) res.setHeader('connection', 'close');

  let pull: () => Promise<Step>;
  let stop: () => unknown;
  const fast = takeNodeBody(response);
  if (fast && isPipeable(fast)) {
    if (response.headers.get('content-type')?.startsWith('text/event-stream')) res.flushHeaders();
    // Returned, not awaited, here and below: this frame (and with it the Response and its unused
    // web body stream) can go while the answer streams.
    return pipeChunks(res, fast, options.signal);
  }
  if (fast) {
    const iterator = fast;
    pull = () => iterator.next();
    stop = () => iterator.return?.();
  } else if (response.body) {
    const reader = response.body.getReader();
    pull = () => reader.read() as Promise<Step>;
    stop = () => reader.cancel();
  } else {
    res.end();
    return Promise.resolve();
  }
  if (response.headers.get('content-type')?.startsWith('text/event-stream')) res.flushHeaders();
  return pump(res, pull, stop, options.signal);
}

async function pump(
  res: ServerResponse,
  pull: () => Promise<Step>,
  stop: () => unknown,
  signal?: AbortSignal,
): Promise<void> {
  const flushable = res as ServerResponse & { flush?: () => void };
  let gone = false;
  let failed = false;
  // Settles the pending read early, so a source that stalls cannot keep us waiting after the client left.
  let wake: (step: Step) => void = noop;
  const leave = (): void => {
    if (res.writableFinished) return;
    gone = true;
    wake(DONE);
  };
  res.on('close', leave);
  signal?.addEventListener('abort', leave);
  if (res.destroyed || signal?.aborted) leave();
  try {
    while (!gone) {
      const step = await new Promise<Step>((resolve, reject) => {
        wake = resolve;
        pull().then(resolve, reject);
      });
      if (gone || step.done) break;
      if (!res.write(step.value)) await waitForDrain(res, signal);
      flushable.flush?.();
    }
  } catch {
    failed = true;
  } finally {
    res.off('close', leave);
    signal?.removeEventListener('abort', leave);
  }
  if (gone || failed) void Promise.resolve().then(stop).catch(noop);
  if (failed && res.headersSent) res.destroy();
  else if (failed) res.writeHead(500).end();
  else if (!res.writableEnded && !res.destroyed) res.end();
}

/**
 * The body's chunks written to the socket as the source makes them, in the same step: no promise
 * per chunk. Backpressure pauses the chunks until `drain`; the client leaving cancels them.
 */
function pipeChunks(res: ServerResponse, chunks: PipeableChunks, signal?: AbortSignal): Promise<void> {
  const flushable = res as ServerResponse & { flush?: () => void };
  return new Promise((resolve) => {
    let over = false;
    const finish = (): boolean => {
      if (over) return false;
      over = true;
      res.off('close', leave);
      res.off('drain', resume);
      signal?.removeEventListener('abort', leave);
      resolve();
      return true;
    };
    const leave = (): void => {
      if (res.writableFinished || !finish()) return;
      void Promise.resolve()
        .then(() => chunks.return?.())
        .catch(noop);
    };
    const resume = (): void => chunks.resume();
    res.on('close', leave);
    res.on('drain', resume);
    signal?.addEventListener('abort', leave);
    if (res.destroyed || signal?.aborted) {
      leave();
      return;
    }
    const sink: ChunkSink = {
      write(chunk) {
        if (over) return false;
        const accepted = res.write(chunk);
        flushable.flush?.();
        return accepted;
      },
      end(error) {
        if (!finish()) return;
        if (error === undefined) {
          if (!res.writableEnded && !res.destroyed) res.end();
        } else if (res.headersSent) res.destroy();
        else res.writeHead(500).end();
      },
    };
    try {
      chunks.pipe(sink);
    } catch (error) {
      // Chunks that refuse the pipe (someone reads them already) end the response, as a failing
      // source does: the promise must not reject, its callers do not wait on it for errors.
      sink.end(error ?? new Error('The chunks could not be piped.'));
    }
  });
}
