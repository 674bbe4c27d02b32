import type { ChatHandler } from '../../src/http/chat-handler.js';
import { chunkedResponse } from '../../src/http/node-body.js';
import { sseChunks } from '../../src/sse/sse-chunks.js';

/** What the fake handler saw and did, for the tests to assert on. */
export interface FakeHandlerState {
  calls: Array<{ method: string; path: string }>;
  /** Times (ms) the request signal aborted / the body source was returned or cancelled. */
  abortedAt?: number;
  stoppedAt?: number;
  /** The last streamed Response: its web body must stay unread when the fast path was taken. */
  lastStream?: Response;
  /** Bytes the flood source produced so far. */
  producedBytes: number;
  /** Resolved by the test once the client has seen the first lockstep event. */
  clientSawFirst: { promise: Promise<void>; resolve: () => void };
}

export const FLOOD_CHUNK_BYTES = 64 * 1024;
export const FLOOD_CAP_BYTES = 128 * 1024 * 1024;

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => {};
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const frame = (i: number) => `event: token\ndata: {"i":${i}}\n\n`;

/** A ChatHandler with test routes, standing in for the real one. */
export function createFakeChatHandler(): { handler: ChatHandler; state: FakeHandlerState } {
  const state: FakeHandlerState = { calls: [], producedBytes: 0, clientSawFirst: deferred() };

  function sse(source: AsyncGenerator<string>, fast: boolean): Response {
    const init = { headers: { 'content-type': 'text/event-stream' } };
    // Like the real handler: a real web body, and the same chunks (pipeable) for the Node bridge to take.
    const response = fast
      ? chunkedResponse(sseChunks(source, { encode: (text) => text, keepAliveMs: 0 }), init)
      : new Response(webBody(source), init);
    state.lastStream = response;
    return response;
  }

  async function* counted(n: number) {
    for (let i = 0; i < n; i++) yield frame(i);
  }

  async function* lockstep() {
    yield frame(0);
    await state.clientSawFirst.promise;
    yield frame(1);
  }

  async function* slow() {
    try {
      for (let i = 0; ; i++) {
        await sleep(10);
        yield frame(i);
      }
    } finally {
      state.stoppedAt = Date.now();
    }
  }

  async function* flood() {
    const chunk = `data: ${'x'.repeat(FLOOD_CHUNK_BYTES - 8)}\n\n`;
    try {
      while (state.producedBytes < FLOOD_CAP_BYTES) {
        state.producedBytes += chunk.length;
        yield chunk;
      }
    } finally {
      state.stoppedAt = Date.now();
    }
  }

  const handler: ChatHandler = {
    async fetch(request) {
      const url = new URL(request.url);
      state.calls.push({ method: request.method, path: url.pathname });
      request.signal.addEventListener('abort', () => {
        state.abortedAt = Date.now();
      });
      const fast = url.searchParams.get('fast') === '1';
      switch (url.pathname) {
        case '/echo':
          return Response.json({
            method: request.method,
            path: url.pathname,
            search: url.search,
            contentType: request.headers.get('content-type'),
            body: await request.text(),
          });
        case '/throw':
          throw new Error('handler failed');
        case '/stream':
          return sse(counted(Number(url.searchParams.get('n') ?? '3')), fast);
        case '/lockstep':
          return sse(lockstep(), fast);
        case '/slow-stream':
          return sse(slow(), fast);
        case '/flood':
          return sse(flood(), fast);
        default:
          return Response.json({ error: 'not_found', path: url.pathname }, { status: 404 });
      }
    },
    async close() {},
  };
  return { handler, state };
}

/** A plain web body over text chunks, pulled on demand (no read-ahead steals an event). */
function webBody(source: AsyncGenerator<string>): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const step = await source.next();
        if (step.done) controller.close();
        else controller.enqueue(encoder.encode(step.value));
      },
      async cancel() {
        await source.return(undefined);
      },
    },
    { highWaterMark: 0 },
  );
}
