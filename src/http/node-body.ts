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

import { copyWith } from '../internal/copy-with.js';
import { textChunkStream } from '../sse/to-sse-stream.js';

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
  const response = new Response(
    textChunkStream(chunks, () => claim('web')),
    init,
  );
  Object.defineProperty(response, NODE_BODY, { value: () => (claim('node') ? chunks : undefined) });
  return response;
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
  /**
   * The byte length the client declared for the body it sent (`Content-Length`), when it did:
   * for a parsed body, whose own request headers no longer describe those bytes.
   */
  declaredBytes?: number | undefined;
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
  const request = new Request(url, copyWith(init, { body, duplex: 'half' }) as RequestInit);
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
