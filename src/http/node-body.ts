/**
 * Fast paths for Node hosts that nobody can observe.
 *
 * A Response or Request made here has a real web body, like any other, and also carries under a
 * symbol a cheaper way to the same bytes for the Node bridge (text chunks written straight to the
 * socket; a request body read straight from the Node stream or the host's parsed object). The two
 * share one claim: whichever is read first owns the body and the other stays unused. A host that
 * wraps the handler, reads or re-wraps a body, or builds a second Response from the first, gets
 * the web body with everything in it; the fast path only applies when the object reaches the
 * bridge (or the handler) untouched.
 * @internal
 */

import { isPipeable, type PipeableChunks } from '../sse/sse-chunks.js';

const NODE_BODY: unique symbol = Symbol.for('mcp-llmchat.node-body') as never;
const NODE_REQUEST: unique symbol = Symbol.for('mcp-llmchat.node-request') as never;

type Owner = 'web' | 'node';

/** One body, two ways to read it; the first to ask owns it. */
function claimer(): (by: Owner) => boolean {
  let owner: Owner | undefined;
  return (by) => {
    owner ??= by;
    return owner === by;
  };
}

/** Whether a web body was already handed to someone (read, locked, or teed). */
function webBodyTaken(body: { bodyUsed: boolean; body: ReadableStream | null }): boolean {
  return body.bodyUsed || body.body?.locked === true;
}

/**
 * A streaming Response over text chunks (an SSE stream): its web body encodes them as UTF-8 on
 * demand, with no read-ahead (`highWaterMark: 0`), so backpressure reaches the producer. The Node
 * bridge may take the chunks themselves instead, through {@link takeNodeBody}.
 * @internal
 */
export function chunkedResponse(chunks: AsyncIterator<string>, init: ResponseInit): Response {
  const claim = claimer();
  const body = isPipeable(chunks) ? pipedBody(chunks, claim) : pulledBody(chunks, claim);
  const response = new Response(body, init);
  Object.defineProperty(response, NODE_BODY, { value: () => (claim('node') ? chunks : undefined) });
  return response;
}

/**
 * A web body the chunks are written into as they come: the first read pipes them, each later one
 * lets them go on. No promise a chunk between the chunks and the stream.
 */
function pipedBody(chunks: PipeableChunks, claim: (by: Owner) => boolean): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
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
        if (!claim('web')) {
          controller.error(new TypeError('This body is being read by the Node bridge.'));
          return;
        }
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
        if (!claim('web')) return;
        chunks.return?.()?.then(undefined, () => {});
      },
    },
    { highWaterMark: 0 },
  );
}

/** A web body that pulls the chunks one read at a time. */
function pulledBody(chunks: AsyncIterator<string>, claim: (by: Owner) => boolean): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (!claim('web')) {
          controller.error(new TypeError('This body is being read by the Node bridge.'));
          return;
        }
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
      cancel() {
        if (!claim('web')) return;
        try {
          chunks.return?.()?.then(undefined, () => {});
        } catch {
          // Nothing left to release when return() itself fails.
        }
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * The text chunks of a Response from {@link chunkedResponse}, for the Node bridge to write, when
 * nobody has touched its web body; `undefined` otherwise (read `response.body` then).
 * @internal
 */
export function takeNodeBody(response: Response): AsyncIterator<string> | undefined {
  const take = (response as unknown as Record<symbol, (() => AsyncIterator<string> | undefined) | undefined>)[
    NODE_BODY
  ];
  if (typeof take !== 'function' || webBodyTaken(response)) return undefined;
  return take();
}

/** What the Node bridge knows about a request body. @internal */
export interface NodeRequestBody {
  /** The body a host parser already produced (`express.json()`, a Koa body parser), if any. */
  parsed: unknown;
  /** Reads the raw body as UTF-8 text, failing with `PAYLOAD_TOO_LARGE` past `maxBytes`. */
  read(maxBytes: number): Promise<string>;
  /** The body's bytes in chunks, for the web body. */
  chunks(): AsyncIterable<Uint8Array>;
}

/**
 * A Request whose web body reads `source` lazily (nothing is read until someone asks), and which
 * lets the handler read the same body more cheaply through {@link takeNodeRequestBody}.
 * @internal
 */
export function nodeBodyRequest(url: string, init: RequestInit, source: NodeRequestBody): Request {
  const claim = claimer();
  let iterator: AsyncIterator<Uint8Array> | undefined;
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (iterator === undefined) {
          if (!claim('web')) {
            controller.error(new TypeError('This body was already read.'));
            return;
          }
          iterator = source.chunks()[Symbol.asyncIterator]();
        }
        const step = await iterator.next();
        if (step.done === true) controller.close();
        else controller.enqueue(step.value);
      },
      async cancel() {
        await iterator?.return?.();
      },
    },
    { highWaterMark: 0 },
  );
  // `duplex` is required by Node for a streamed body but missing from the DOM typings.
  const request = new Request(url, { ...init, body, duplex: 'half' } as RequestInit);
  Object.defineProperty(request, NODE_REQUEST, { value: () => (claim('node') ? source : undefined) });
  return request;
}

/**
 * The Node body source of a Request from {@link nodeBodyRequest}, when nobody has touched its web
 * body; `undefined` otherwise (read the web body then).
 * @internal
 */
export function takeNodeRequestBody(request: Request): NodeRequestBody | undefined {
  const take = (request as unknown as Record<symbol, (() => NodeRequestBody | undefined) | undefined>)[NODE_REQUEST];
  if (typeof take !== 'function' || webBodyTaken(request)) return undefined;
  return take();
}
