import { once } from 'node:events';
import { type AddressInfo, connect, createServer as createNetServer, type Socket } from 'node:net';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sseEventReader } from '../fixtures/sse-reader.js';
import {
  createFakeChatHandler,
  type FakeHandlerState,
  FLOOD_CAP_BYTES,
  FLOOD_CHUNK_BYTES,
} from './fake-chat-handler.js';
import { HOST_ROUTE, HOST_ROUTE_TEXT, HOSTS, MOUNT, type RunningHost } from './hosts.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Opens an SSE response and reads it one parsed event at a time. */
async function openSse(url: string) {
  const controller = new AbortController();
  const response = await fetch(url, { signal: controller.signal });
  const events = sseEventReader(response.body as ReadableStream<Uint8Array>);
  return { response, abort: () => controller.abort(), next: () => events.next() };
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function until(condition: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await sleep(5);
  }
}

// What the kernel holds for one loopback connection whose client does not read: a plain socket
// server writes until its writes stop draining. The bridge may add its own small buffers on top.
async function measureSocketCapacityBytes(): Promise<number> {
  const server = createNetServer();
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
  client.pause();
  const [socket] = await accepted;
  const chunk = Buffer.alloc(FLOOD_CHUNK_BYTES, 120);
  let written = 0;
  for (;;) {
    written += chunk.length;
    if (socket.write(chunk)) continue;
    const drained = await Promise.race([once(socket, 'drain').then(() => true), sleep(1000).then(() => false)]);
    if (!drained) break;
  }
  const capacity = written - socket.writableLength;
  client.destroy();
  socket.destroy();
  await new Promise((resolve) => server.close(resolve));
  return capacity;
}

// The kernel sizes each connection's buffers on its own (autotuning), so the flood's connection
// can hold a little more than the measured one: a run landed exactly on capacity + 512 KiB.
const BRIDGE_SLACK_BYTES = 1024 * 1024;

let socketCapacityBytes = 0;
beforeAll(async () => {
  socketCapacityBytes = await measureSocketCapacityBytes();
});

describe.each(HOSTS)('$name', (host) => {
  let running: RunningHost;
  let state: FakeHandlerState;
  let base: string;

  beforeEach(async () => {
    const fake = createFakeChatHandler();
    state = fake.state;
    running = await host.start(fake.handler);
    base = `${running.origin}${MOUNT}`;
  });

  afterEach(async () => {
    state.clientSawFirst.resolve();
    await running.close();
    expect(running.errors).toEqual([]);
  });

  it('passes a JSON POST with its path, query and body to the handler', async () => {
    const sent = JSON.stringify({ message: 'hi', llm: { model: 'm' }, n: [1, 2] });
    const response = await fetch(`${base}/echo?x=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: sent,
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      method: 'POST',
      path: '/echo',
      search: '?x=1',
      contentType: 'application/json',
      body: sent,
    });
  });

  it('passes a body the host parser skipped through untouched', async () => {
    const response = await fetch(`${base}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'plain words',
    });
    expect((await response.json()).body).toBe('plain words');
  });

  it.runIf(host.body === 'raw')('passes malformed JSON to the handler untouched', async () => {
    const response = await fetch(`${base}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"message": ',
    });
    expect(response.status).toBe(200);
    expect((await response.json()).body).toBe('{"message": ');
  });

  it("hands the handler's failures to the host's error handling", async () => {
    const response = await fetch(`${base}/throw`);
    await response.arrayBuffer();
    expect(response.status).toBe(500);
    // Koa reports the error it answered; that one is expected here.
    running.errors.length = 0;
  });

  it.runIf(host.name.startsWith('fastify'))('keeps headers the host set with reply.header()', async () => {
    const response = await fetch(`${base}/echo`, { method: 'POST', body: '{}' });
    expect(response.headers.get('x-host-header')).toBe('kept');
    expect((await response.json()).body).toBe('{}');
  });

  it('passes a request target in absolute form (RFC 9112 §3.2.2) with its path and query', async () => {
    const socket = connect(Number(new URL(running.origin).port), '127.0.0.1');
    socket.write(`GET http://elsewhere.test${MOUNT}/echo?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    let answer = '';
    socket.on('data', (chunk) => {
      answer += chunk;
    });
    await once(socket, 'close');
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
    expect(answer).toContain('"path":"/echo","search":"?x=1"');
  });

  // TRACK is refused by Node's parser itself (400), CONNECT goes to the server's `connect` event.
  it.each(['TRACE'])('answers %s, which no web Request can carry, 501 NOT_IMPLEMENTED', async (method) => {
    const socket = connect(Number(new URL(running.origin).port), '127.0.0.1');
    socket.write(`${method} ${MOUNT}/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    let answer = '';
    socket.on('data', (chunk) => {
      answer += chunk;
    });
    await once(socket, 'close');
    expect(answer).toMatch(/^HTTP\/1\.1 501/);
    expect(answer).toContain(`{"detail":"${method} requests are not supported.","code":"NOT_IMPLEMENTED"}`);
    expect(state.calls).toEqual([]);
  });

  it('maps the mount point itself to / and keeps the query', async () => {
    const response = await fetch(`${base}?q=1`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: 'not_found', path: '/' });
    expect(state.calls).toEqual([{ method: 'GET', path: '/' }]);
  });

  it('leaves requests outside the mount to the host', async () => {
    const hostRoute = await fetch(`${running.origin}${HOST_ROUTE}`);
    expect(await hostRoute.text()).toBe(HOST_ROUTE_TEXT);
    const lookalike = await fetch(`${running.origin}${MOUNT}x/echo`, { method: 'POST', body: '{}' });
    await lookalike.arrayBuffer();
    expect(lookalike.status).toBe(404);
    expect(state.calls).toEqual([]);
  });

  describe.each([
    { variant: 'web body', fast: false },
    { variant: 'Node fast path', fast: true },
  ])('SSE through the $variant', ({ fast }) => {
    const q = fast ? '&fast=1' : '';

    it('delivers every event in order with event-stream headers', async () => {
      const sse = await openSse(`${base}/stream?n=20${q}`);
      expect(sse.response.headers.get('content-type')).toBe('text/event-stream');
      const seen: number[] = [];
      for (let event = await sse.next(); event; event = await sse.next()) {
        expect(event.event).toBe('token');
        seen.push(event.data.i);
      }
      expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => i));
      // The fast path wrote the chunks itself: its web body stayed unread (the other one was read).
      expect(state.lastStream?.bodyUsed).toBe(!fast);
    });

    it('delivers each event before the stream ends (no buffering)', async () => {
      const sse = await openSse(`${base}/lockstep?x=1${q}`);
      // The second event waits for the client to have seen the first: a buffering bridge deadlocks.
      const first = await within(sse.next(), 3000, 'first event while the stream is still open');
      expect(first!.data.i).toBe(0);
      state.clientSawFirst.resolve();
      expect((await sse.next())!.data.i).toBe(1);
      expect(await sse.next()).toBeUndefined();
    });

    it('tells the handler promptly when the client aborts mid-stream', async () => {
      const sse = await openSse(`${base}/slow-stream?x=1${q}`);
      await sse.next();
      await sse.next();
      const abortedAt = Date.now();
      sse.abort();
      // Seconds, not the milliseconds it takes on an idle machine: CI machines are shared.
      await until(() => state.abortedAt !== undefined && state.stoppedAt !== undefined, 3000, 'abort seen');
      expect(state.abortedAt! - abortedAt).toBeLessThan(3000);
      expect(state.stoppedAt! - abortedAt).toBeLessThan(3000);
    });

    it('stops pulling the source while the client does not read', async () => {
      const { hostname, port } = new URL(running.origin);
      const socket = connect(Number(port), hostname);
      await once(socket, 'connect');
      socket.pause();
      socket.write(`GET ${MOUNT}/flood?x=1${q} HTTP/1.1\r\nHost: ${hostname}\r\n\r\n`);
      try {
        // Wait until production stalls: the socket buffers are full and the bridge waits for drain.
        let last = -1;
        let stableSince = Date.now();
        await until(
          () => {
            if (state.producedBytes !== last) {
              last = state.producedBytes;
              stableSince = Date.now();
            }
            return state.producedBytes > 0 && Date.now() - stableSince > 400;
          },
          10_000,
          'production stalls',
        );
        expect(state.producedBytes).toBeLessThan(FLOOD_CAP_BYTES);
        expect(state.producedBytes).toBeLessThan(socketCapacityBytes + BRIDGE_SLACK_BYTES);
      } finally {
        socket.destroy();
      }
      await until(() => state.stoppedAt !== undefined, 1000, 'source stopped after the client left');
    });
  });
});
