import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { toExpressMiddleware } from '../../src/adapters/express.js';
import { signalKeeperOf } from '../../src/adapters/node/to-web-request.js';
import type { ChatHandler } from '../../src/http/chat-handler.js';
import { chunkedResponse } from '../../src/http/node-body.js';
import { sseChunks } from '../../src/sse/sse-chunks.js';
import { collectGarbage } from '../fixtures/collect-garbage.js';
import { sseEventReader } from '../fixtures/sse-reader.js';
import { HOSTS, MOUNT, type RunningHost } from './hosts.js';

/**
 * A handler whose answer streams until the test lets it end, that keeps only a weak reference to
 * the Response it gave, and that listens to its Request's signal as a handler would.
 */
function heldOpenHandler(fast: boolean) {
  let heard: () => void = () => {};
  const seen: {
    request?: WeakRef<Request>;
    signalKeeper?: WeakRef<object>;
    response?: WeakRef<Response>;
    heardAbort: Promise<void>;
  } = {
    heardAbort: new Promise<void>((resolve) => {
      heard = resolve;
    }),
  };
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  async function* events() {
    yield 'event: token\ndata: {"i":0}\n\n';
    await finished;
    yield 'event: final\ndata: {"i":1}\n\n';
  }
  const init = { headers: { 'content-type': 'text/event-stream' } };
  const encoder = new TextEncoder();
  const handler: ChatHandler = {
    async fetch(request) {
      seen.request = new WeakRef(request);
      seen.signalKeeper = new WeakRef(signalKeeperOf(request));
      request.signal.addEventListener('abort', () => heard());
      const source = events();
      const response = fast
        ? chunkedResponse(sseChunks(source, { encode: (text) => text, keepAliveMs: 0 }), init)
        : new Response(
            new ReadableStream<Uint8Array>(
              {
                async pull(controller) {
                  const step = await source.next();
                  if (step.done) controller.close();
                  else controller.enqueue(encoder.encode(step.value));
                },
              },
              { highWaterMark: 0 },
            ),
            init,
          );
      seen.response = new WeakRef(response);
      return response;
    },
    async close() {},
  };
  return { handler, seen, finish };
}

let host: RunningHost | undefined;
afterEach(async () => {
  await host?.close();
  host = undefined;
});

// An answer streams for as long as the model writes. The Response (with its unused web body on
// the fast path) and the Request (its headers, its body stream) are done with once streaming
// started: 500 open streams need not keep 500 of them. What `request.signal` needs to hear the
// client leave is kept (the next test).
describe.each(HOSTS)('$name', (kind) => {
  it.each([
    ['the fast path', true],
    ['a web body', false],
  ])('lets the Response and the Request go while the answer streams (%s)', async (_, fast) => {
    const { handler, seen, finish } = heldOpenHandler(fast);
    host = await kind.start(handler);
    const answer = await fetch(`${host.origin}${MOUNT}/chat`, { method: 'POST', body: '{}' });
    const events = sseEventReader(answer.body as ReadableStream<Uint8Array>);
    expect((await events.next())?.event).toBe('token');

    await collectGarbage();
    expect(seen.response).toBeDefined();
    expect(seen.response?.deref()).toBeUndefined();
    expect(seen.request).toBeDefined();
    expect(seen.request?.deref()).toBeUndefined();

    // And the answer still streams to its end, after which nothing keeps what the signal needed.
    finish();
    expect((await events.next())?.event).toBe('final');
    expect(await events.next()).toBeUndefined();
    await host.close();
    host = undefined;
    await collectGarbage();
    expect(seen.signalKeeper?.deref()).toBeUndefined();
  });

  it('tells the handler of a client that leaves mid-answer, after a collection', async () => {
    const { handler, seen } = heldOpenHandler(true);
    host = await kind.start(handler);
    const client = new AbortController();
    const answer = await fetch(`${host.origin}${MOUNT}/chat`, { method: 'POST', body: '{}', signal: client.signal });
    const events = sseEventReader(answer.body as ReadableStream<Uint8Array>);
    expect((await events.next())?.event).toBe('token');

    await collectGarbage();
    client.abort();
    await events.cancel().catch(() => {});
    // Heard, or the test times out.
    await expect(seen.heardAbort).resolves.toBeUndefined();
  });
});

// Express's `next` closes over the router's state for the request; the middleware needs it only
// until the answer starts (a handler that throws, headers that cannot be set).
describe('toExpressMiddleware', () => {
  it("does not hold Express's next while the answer streams", async () => {
    const { handler, finish } = heldOpenHandler(true);
    const middleware = toExpressMiddleware(handler);
    let nextRef: WeakRef<() => void> | undefined;
    let nextCalls = 0;
    const server: Server = createServer((req, res) => {
      const next = () => {
        nextCalls++;
      };
      nextRef = new WeakRef(next);
      middleware(req, res, next);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const answer = await fetch(`http://127.0.0.1:${port}/chat`, { method: 'POST', body: '{}' });
      const events = sseEventReader(answer.body as ReadableStream<Uint8Array>);
      expect((await events.next())?.event).toBe('token');
      await collectGarbage();
      expect(nextRef).toBeDefined();
      expect(nextRef?.deref()).toBeUndefined();
      finish();
      expect((await events.next())?.event).toBe('final');
      expect(await events.next()).toBeUndefined();
      expect(nextCalls).toBe(0);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
