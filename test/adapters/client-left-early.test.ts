import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { readNodeBody } from '../../src/adapters/node/read-node-body.js';
import { LlmChatError } from '../../src/errors.js';
import type { ChatHandler } from '../../src/http/chat-handler.js';
import { createChatHandler } from '../../src/index.js';
import { HOSTS, MOUNT } from './hosts.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve: (value: T) => void = () => {};
  const promise = new Promise<T>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

/** Opens a socket and sends a POST head declaring 100 bytes, then only the first few of them. */
async function startPartialPost(origin: string, path: string): Promise<Socket> {
  const { hostname, port } = new URL(origin);
  const socket = connect(Number(port), hostname);
  await once(socket, 'connect');
  socket.write(
    `POST ${path} HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"mess`,
  );
  return socket;
}

const BODY_EVENTS = ['data', 'end', 'error', 'close'] as const;
const listenersOf = (req: IncomingMessage) => BODY_EVENTS.map((event) => req.listenerCount(event));

describe('readNodeBody when the client left', () => {
  let server: Server | undefined;

  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    server = undefined;
  });

  /** A server handing over each request it gets, and a socket that sent part of a body to it. */
  async function partialRequest(): Promise<{ req: IncomingMessage; socket: Socket }> {
    const arrived = deferred<IncomingMessage>();
    server = createServer((req) => arrived.resolve(req));
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const socket = await startPartialPost(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, '/x');
    return { req: await arrived.promise, socket };
  }

  it('rejects at once, leaving no listeners, when the request was destroyed before the read', async () => {
    const { req, socket } = await partialRequest();
    // Not `once()`: that rejects on the `aborted` error the request emits when it has listeners.
    const closed = new Promise((resolve) => req.once('close', resolve));
    socket.destroy();
    await closed;
    expect([req.destroyed, req.readableEnded]).toEqual([true, false]);
    const before = listenersOf(req);

    const error = await within(
      readNodeBody(req, 1000).catch((e: unknown) => e),
      1000,
      'readNodeBody settles',
    );
    expect(error).toBeInstanceOf(LlmChatError);
    expect(error).toMatchObject({ code: 'BAD_REQUEST', message: 'The request body could not be read.' });
    expect(listenersOf(req)).toEqual(before);
  });

  it('rejects with the same error when the client leaves in the middle of the read', async () => {
    const { req, socket } = await partialRequest();
    const before = listenersOf(req);
    const reading = readNodeBody(req, 1000).catch((e: unknown) => e);
    await sleep(20);
    socket.destroy();

    const error = await within(reading, 1000, 'readNodeBody settles');
    expect(error).toBeInstanceOf(LlmChatError);
    expect(error).toMatchObject({ code: 'BAD_REQUEST', message: 'The request body could not be read.' });
    expect(listenersOf(req)).toEqual(before);
  });
});

// Hosts whose parser would read (and fail on) the body before the handler runs are left out: the
// handler never sees those requests.
describe.each(HOSTS.filter((host) => host.body === 'raw'))(
  '$name, when the client leaves during authenticate',
  (host) => {
    it('settles the handler with a 400 instead of waiting for the body forever', async () => {
      const authenticating = deferred();
      const clientGone = deferred();
      const handler = createChatHandler({
        authenticate: async () => {
          authenticating.resolve();
          await clientGone.promise;
          return { id: 'alice' };
        },
        models: [{ id: 'gpt-4o', provider: 'openai', apiKey: 'unused' }],
      });
      const settled = deferred<number>();
      const wrapped: ChatHandler = {
        ...handler,
        fetch: (request) => {
          const answer = handler.fetch(request);
          answer.then(
            (response) => settled.resolve(response.status),
            () => settled.resolve(-1),
          );
          return answer;
        },
      };
      const running = await host.start(wrapped);
      try {
        const socket = await startPartialPost(running.origin, `${MOUNT}/chat`);
        await within(authenticating.promise, 2000, 'authenticate called');
        socket.destroy();
        // Long enough for the server to see the socket close while authenticate still runs.
        await sleep(100);
        clientGone.resolve();
        expect(await within(settled.promise, 2000, 'handler.fetch settles')).toBe(400);
      } finally {
        await running.close();
        await handler.close();
      }
      // Koa reports the request the client cut short (`HPE_INVALID_EOF_STATE`): that one is expected.
      const truncated = (error: unknown) => (error as NodeJS.ErrnoException).code === 'HPE_INVALID_EOF_STATE';
      expect(running.errors.filter((error) => !truncated(error))).toEqual([]);
    });
  },
);
