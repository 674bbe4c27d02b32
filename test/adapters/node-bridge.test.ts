import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect as connectHttp2, createServer as createHttp2Server } from 'node:http2';
import { type AddressInfo, connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stripMountPrefix } from '../../src/adapters/node/strip-mount-prefix.js';
import { signalKeeperOf, toWebRequest } from '../../src/adapters/node/to-web-request.js';
import { writeWebResponse } from '../../src/adapters/node/write-web-response.js';
import { chunkedResponse } from '../../src/http/node-body.js';
import { isPipeable, sseChunks } from '../../src/sse/sse-chunks.js';

let serve: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;
const server = createServer((req, res) => void serve(req, res));
let origin = '';

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** Serves each request by turning it into a web Request, asking `respond`, and writing its answer back. */
function bridge(respond: (request: Request) => Response | Promise<Response>, parsedBody?: unknown) {
  serve = async (req, res) => {
    if (parsedBody !== undefined) req.resume();
    const request = toWebRequest(req, res, { parsedBody });
    await writeWebResponse(await respond(request), res, { signal: request.signal });
  };
}

/** Sends the request head `lines` (and `body` after it) on a socket of its own; the answer as read. */
async function rawRequest(lines: string[], body = ''): Promise<string> {
  const socket = connect(Number(new URL(origin).port), '127.0.0.1');
  socket.write(`${lines.join('\r\n')}\r\nConnection: close\r\n\r\n${body}`);
  let text = '';
  socket.on('data', (chunk) => {
    text += chunk;
  });
  await once(socket, 'close');
  return text;
}

describe('stripMountPrefix', () => {
  it.each([
    ['/llmchat/echo?a=1', '/llmchat', '/echo?a=1'],
    ['/llmchat', '/llmchat', '/'],
    ['/llmchat?a=1', '/llmchat/', '/?a=1'],
    ['/llmchatx/echo', '/llmchat', undefined],
    ['/other', '/llmchat', undefined],
    ['/echo', '', '/echo'],
    ['/echo', '/', '/echo'],
    // Absolute form: matched by its path; its authority is not the path.
    ['http://evil.test/llmchat/echo?a=1', '/llmchat', '/echo?a=1'],
    ['https://evil.test/llmchatx/echo', '/llmchat', undefined],
    ['http://evil.test', '', '/'],
    ['http://evil.test?a=1', '', '/?a=1'],
    ['http://llmchat/echo', '/llmchat', undefined],
  ])('%s under %s is %s', (url, prefix, expected) => {
    expect(stripMountPrefix(url, prefix)).toBe(expected);
  });
});

describe('toWebRequest', () => {
  it('re-sends a host-parsed object as JSON and drops the wire framing headers', async () => {
    bridge(
      async (request) =>
        Response.json({
          body: await request.text(),
          length: request.headers.get('content-length'),
          custom: request.headers.get('x-custom'),
          method: request.method,
        }),
      { a: 1 },
    );
    const response = await fetch(`${origin}/x`, {
      method: 'PUT',
      headers: { 'x-custom': 'kept' },
      body: '{ "a" : 1 }',
    });
    expect(await response.json()).toEqual({ body: '{"a":1}', length: null, custom: 'kept', method: 'PUT' });
  });

  it('passes host-read bytes and strings as they are', async () => {
    for (const parsed of [Buffer.from('{"raw": true}'), '{"raw": true}']) {
      bridge(async (request) => new Response(await request.text()), parsed);
      const response = await fetch(`${origin}/x`, { method: 'POST', body: 'ignored' });
      expect(await response.text()).toBe('{"raw": true}');
    }
  });

  it('streams the raw body when nothing parsed it, and sends none for GET', async () => {
    bridge(async (request) => Response.json({ body: request.body === null ? null : await request.text() }));
    const post = await fetch(`${origin}/x`, { method: 'POST', body: 'streamed' });
    expect(await post.json()).toEqual({ body: 'streamed' });
    const get = await fetch(`${origin}/x`);
    expect(await get.json()).toEqual({ body: null });
  });

  it('gives a request whose headers say it has no body a null body, and one that has one its stream', async () => {
    bridge(async (request) =>
      Response.json({ method: request.method, body: request.body === null ? null : await request.text() }),
    );
    const ask = async (head: string[], body = '') => {
      const reply = await rawRequest(head, body);
      return JSON.parse(reply.slice(reply.indexOf('{'), reply.lastIndexOf('}') + 1)) as unknown;
    };
    expect(await ask(['DELETE /x HTTP/1.1', 'Host: a'])).toEqual({ method: 'DELETE', body: null });
    expect(await ask(['POST /x HTTP/1.1', 'Host: a', 'Content-Length: 0'])).toEqual({ method: 'POST', body: null });
    expect(await ask(['DELETE /x HTTP/1.1', 'Host: a', 'Content-Length: 4'], 'body')).toEqual({
      method: 'DELETE',
      body: 'body',
    });
    expect(await ask(['POST /x HTTP/1.1', 'Host: a', 'Transfer-Encoding: chunked'], '3\r\nabc\r\n0\r\n\r\n')).toEqual({
      method: 'POST',
      body: 'abc',
    });
  });

  it('keeps the body a host parser read, though the request had no framing headers', async () => {
    bridge(async (request) => new Response(await request.text()), { parsed: true });
    const reply = await rawRequest(['DELETE /x HTTP/1.1', 'Host: a']);
    expect(reply.endsWith('{"parsed":true}\r\n0\r\n\r\n')).toBe(true);
  });

  it('keeps the stream of an HTTP/2 request, whose body needs no length header', async () => {
    const h2 = createHttp2Server((req, res) => {
      const web = toWebRequest(req as unknown as IncomingMessage, res as unknown as ServerResponse);
      void web.text().then((text) => res.end(text));
    });
    await new Promise<void>((resolve) => h2.listen(0, '127.0.0.1', resolve));
    const client = connectHttp2(`http://127.0.0.1:${(h2.address() as AddressInfo).port}`);
    try {
      const stream = client.request({ ':method': 'POST', ':path': '/x' });
      stream.end('h2 body');
      let text = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        text += chunk;
      });
      await once(stream, 'end');
      expect(text).toBe('h2 body');
    } finally {
      client.close();
      await new Promise((resolve) => h2.close(resolve));
    }
  });

  it('answers an HTTP/2 request before its body came without a connection header, or a process warning', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
    process.on('warning', onWarning);
    const h2 = createHttp2Server(async (req, res) => {
      const web = toWebRequest(req as unknown as IncomingMessage, res as unknown as ServerResponse);
      await writeWebResponse(new Response('early', { status: 413 }), res as unknown as ServerResponse, {
        signal: web.signal,
      });
    });
    await new Promise<void>((resolve) => h2.listen(0, '127.0.0.1', resolve));
    const client = connectHttp2(`http://127.0.0.1:${(h2.address() as AddressInfo).port}`);
    try {
      // The body is still to come when the answer goes out.
      const stream = client.request({ ':method': 'POST', ':path': '/x' });
      const [headers] = (await once(stream, 'response')) as [Record<string, string>];
      expect(headers[':status']).toBe(413);
      expect(headers.connection).toBeUndefined();
      stream.end();
      stream.resume();
      await once(stream, 'close');
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((text) => /connection/i.test(text))).toEqual([]);
    } finally {
      process.off('warning', onWarning);
      client.close();
      await new Promise((resolve) => h2.close(resolve));
    }
  });

  it('builds the URL from the Host header, falling back to localhost when it is unusable', async () => {
    bridge((request) => new Response(request.url));
    // Chunked encoding puts each body on a line of its own.
    expect(await rawRequest(['GET /a?b=1 HTTP/1.1', 'Host: example.test:8080'])).toContain(
      '\r\nhttp://example.test:8080/a?b=1\r\n',
    );
    expect(await rawRequest(['GET /a HTTP/1.1', 'Host: bad host'])).toContain('\r\nhttp://localhost/a\r\n');
    expect(await rawRequest(['GET /a HTTP/1.1', 'Host: [::1]:8080'])).toContain('\r\nhttp://[::1]:8080/a\r\n');
  });

  it.each(['x/connect?', 'x/usage/bob#', 'x?admin=1#', 'evil.test@x', 'x\\connect'])(
    'never lets the Host header %j move the path or query the handler routes on',
    async (host) => {
      bridge((request) => new Response(`${new URL(request.url).pathname}${new URL(request.url).search}`));
      const answer = await rawRequest(['GET /models?page=2 HTTP/1.1', `Host: ${host}`]);
      expect(answer).toMatch(/^HTTP\/1\.1 200/);
      expect(answer).toContain('\r\n/models?page=2\r\n');
    },
  );

  it('aborts the signal when the client leaves, not when the response completes', async () => {
    const signals: AbortSignal[] = [];
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    serve = async (req, res) => {
      const request = toWebRequest(req, res);
      signals.push(request.signal);
      if (req.url === '/hang') await released;
      if (!res.destroyed) res.end('done');
    };
    await (await fetch(`${origin}/fine`)).text();
    const controller = new AbortController();
    const hanging = fetch(`${origin}/hang`, { signal: controller.signal }).catch(() => undefined);
    while (signals.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    controller.abort();
    await hanging;
    await new Promise<void>((resolve) => signals[1]!.addEventListener('abort', () => resolve()));
    release();
    expect(signals.map((signal) => signal.aborted)).toEqual([false, true]);
  });
});

describe('signalKeeperOf', () => {
  it("finds the controller behind a Request's own signal on this Node", () => {
    const request = new Request('http://example.test/', { signal: new AbortController().signal });
    const keeper = signalKeeperOf(request);
    expect(keeper).toBeInstanceOf(AbortController);
    expect((keeper as AbortController).signal).toBe(request.signal);
  });

  it('falls back to the Request itself where no such controller is found', () => {
    const stranger = { signal: new AbortController().signal } as unknown as Request;
    expect(signalKeeperOf(stranger)).toBe(stranger);
    // A symbol of that name holding something else is not taken for it.
    const decoy = Object.assign(Object.create(null), { signal: new AbortController().signal });
    decoy[Symbol('abortController')] = new AbortController();
    expect(signalKeeperOf(decoy as Request)).toBe(decoy);
  });
});

describe('writeWebResponse', () => {
  it('ends the response, and resolves, when its chunks refuse to be piped (already read elsewhere)', async () => {
    let written: Promise<void> | undefined;
    serve = (req, res) => {
      req.resume();
      async function* source() {
        yield 'never sent';
      }
      const chunks = sseChunks(source(), { encode: (text: string) => text, keepAliveMs: 0 });
      const response = chunkedResponse(chunks, { headers: { 'content-type': 'text/plain' } });
      // Someone else is reading these chunks already: the bridge's pipe is refused.
      if (!isPipeable(chunks)) throw new Error('sseChunks gives pipeable chunks');
      chunks.pipe({ write: () => true, end: () => {} });
      written = writeWebResponse(response, res);
    };
    const answer = await fetch(`${origin}/`);
    expect(answer.status).toBe(500);
    await answer.arrayBuffer();
    await expect(written).resolves.toBeUndefined();
  });

  it('writes status and headers, keeping every Set-Cookie apart', async () => {
    bridge(() => {
      const headers = new Headers({ 'x-one': '1' });
      headers.append('set-cookie', 'a=1; Path=/');
      headers.append('set-cookie', 'b=2; Path=/');
      return new Response('made', { status: 201, headers });
    });
    const response = await fetch(`${origin}/`);
    expect(response.status).toBe(201);
    expect(response.headers.get('x-one')).toBe('1');
    expect(response.headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2; Path=/']);
    expect(await response.text()).toBe('made');
  });

  it('ends a response without a body', async () => {
    bridge(() => new Response(null, { status: 204 }));
    const response = await fetch(`${origin}/`);
    expect(response.status).toBe(204);
    expect(await response.text()).toBe('');
  });

  it('sends event-stream headers before the first event exists', async () => {
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    async function* late() {
      await released;
      yield 'data: late\n\n';
    }
    bridge(() => chunkedResponse(late(), { headers: { 'content-type': 'text/event-stream' } }));
    const response = await fetch(`${origin}/`);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    release();
    expect(await response.text()).toBe('data: late\n\n');
  });

  it('flushes a compression middleware after every chunk', async () => {
    let flushes = 0;
    serve = async (req, res) => {
      Object.assign(res, { flush: () => flushes++ });
      const body = (async function* () {
        yield 'data: 1\n\n';
        yield 'data: 2\n\n';
      })();
      const response = chunkedResponse(body, { headers: { 'content-type': 'text/event-stream' } });
      await writeWebResponse(response, res, { signal: toWebRequest(req, res).signal });
    };
    expect(await (await fetch(`${origin}/`)).text()).toBe('data: 1\n\ndata: 2\n\n');
    expect(flushes).toBe(2);
  });

  it('cuts the connection when the body fails after the headers went out, and keeps serving', async () => {
    bridge(() => {
      const body = (async function* () {
        yield 'data: 1\n\n';
        throw new Error('boom');
      })();
      return chunkedResponse(body, { headers: { 'content-type': 'text/event-stream' } });
    });
    const response = await fetch(`${origin}/`);
    await expect(response.text()).rejects.toThrow();
    bridge(() => new Response('still up'));
    expect(await (await fetch(`${origin}/`)).text()).toBe('still up');
  });

  it('answers 500 when the body fails before anything was sent', async () => {
    bridge(
      () =>
        new Response(
          new ReadableStream({
            pull() {
              throw new Error('boom');
            },
          }),
        ),
    );
    const response = await fetch(`${origin}/`);
    expect(response.status).toBe(500);
  });

  it('stops an SSE body the moment its client leaves, though its source stalls', async () => {
    let cancelled = false;
    let finished = false;
    serve = async (_req, res) => {
      const events = (async function* () {
        yield 'first';
        await new Promise(() => {});
      })();
      const chunks = sseChunks(events, {
        encode: (text) => `data: ${text}\n\n`,
        keepAliveMs: 0,
        onCancel: () => {
          cancelled = true;
        },
      });
      await writeWebResponse(chunkedResponse(chunks, { headers: { 'content-type': 'text/event-stream' } }), res);
      finished = true;
    };
    const controller = new AbortController();
    const response = await fetch(`${origin}/`, { signal: controller.signal });
    const reader = response.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: first\n\n');
    controller.abort();
    await expect.poll(() => finished, { timeout: 2000, interval: 5 }).toBe(true);
    expect(cancelled).toBe(true);
  });

  it('stops a web body the moment its client leaves, though it stalls', async () => {
    let cancelled = false;
    let finished = false;
    serve = async (_req, res) => {
      let sent = false;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent) return new Promise(() => {});
          sent = true;
          controller.enqueue(new TextEncoder().encode('data: first\n\n'));
          return undefined;
        },
        cancel() {
          cancelled = true;
        },
      });
      await writeWebResponse(new Response(body, { headers: { 'content-type': 'text/event-stream' } }), res);
      finished = true;
    };
    const controller = new AbortController();
    const response = await fetch(`${origin}/`, { signal: controller.signal });
    const reader = response.body!.getReader();
    await reader.read();
    controller.abort();
    await expect.poll(() => finished, { timeout: 2000, interval: 5 }).toBe(true);
    expect(cancelled).toBe(true);
  });

  it('stops the source and ends the response when the given signal aborts', async () => {
    const controller = new AbortController();
    let returned = false;
    serve = async (_req, res) => {
      const body = (async function* () {
        try {
          yield 'data: 1\n\n';
          await new Promise(() => {});
        } finally {
          returned = true;
        }
      })();
      const response = chunkedResponse(body, { headers: { 'content-type': 'text/event-stream' } });
      await writeWebResponse(response, res, { signal: controller.signal });
    };
    const response = await fetch(`${origin}/`);
    const reader = response.body!.getReader();
    await reader.read();
    controller.abort();
    expect((await reader.read()).done).toBe(true);
    // The generator sits in an await that never settles, so its `return()` stays queued: the
    // bridge must not wait for it. The pending read was settled early instead.
    expect(returned).toBe(false);
  });

  it('gives a piped web body one read at a time: a reader that stops reading stops the source', async () => {
    let produced = 0;
    let returned = false;
    const source = (async function* () {
      try {
        for (;;) {
          produced++;
          yield `data: ${produced}\n\n`;
        }
      } finally {
        returned = true;
      }
    })();
    const chunks = sseChunks(source, { encode: (text) => text, keepAliveMs: 0, highWaterMark: 64 });
    // What handler.fetch hands a host: the web body is read, not the Node fast path.
    const reader = chunkedResponse(chunks, { headers: { 'content-type': 'text/event-stream' } }).body!.getReader();
    const decoder = new TextDecoder();
    expect(decoder.decode((await reader.read()).value)).toBe('data: 1\n\n');
    await new Promise((resolve) => setTimeout(resolve, 20));
    // Nothing read since: the stream holds one chunk at most and the buffer stops at its mark.
    const held = produced;
    expect(held).toBeLessThan(20);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(produced).toBe(held);
    let text = '';
    for (let read = 0; read < 5; read++) text += decoder.decode((await reader.read()).value);
    expect(text.startsWith('data: 2\n\n')).toBe(true);
    await reader.cancel();
    await expect.poll(() => returned, { timeout: 2000, interval: 5 }).toBe(true);
  });

  it('answers two reads waiting at once on a piped web body', async () => {
    const queue: string[] = [];
    let wake: (() => void) | undefined;
    const source = (async function* () {
      for (;;) {
        while (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
        yield queue.shift() as string;
      }
    })();
    const chunks = sseChunks(source, { encode: (text) => text, keepAliveMs: 0 });
    const reader = chunkedResponse(chunks, { headers: { 'content-type': 'text/event-stream' } }).body!.getReader();
    const first = reader.read();
    const second = reader.read();
    const decoder = new TextDecoder();
    queue.push('data: 1\n\n');
    wake?.();
    expect(decoder.decode((await first).value)).toBe('data: 1\n\n');
    queue.push('data: 2\n\n');
    wake?.();
    const answered = await Promise.race([second, new Promise((resolve) => setTimeout(() => resolve('stuck'), 500))]);
    expect(answered).not.toBe('stuck');
    expect(decoder.decode((answered as ReadableStreamReadResult<Uint8Array>).value)).toBe('data: 2\n\n');
    await reader.cancel();
  });

  it('ends the response when the SSE chunks are cancelled by their own signal, and leaves no listener behind', async () => {
    const stop = new AbortController();
    let listeners: Record<string, number> = {};
    serve = async (_req, res) => {
      const events = (async function* () {
        yield 'first';
        await new Promise(() => {});
      })();
      const chunks = sseChunks(events, { encode: (text) => `data: ${text}\n\n`, keepAliveMs: 0, signal: stop.signal });
      await writeWebResponse(chunkedResponse(chunks, { headers: { 'content-type': 'text/event-stream' } }), res);
      listeners = { drain: res.listenerCount('drain'), close: res.listenerCount('close') };
    };
    const response = await fetch(`${origin}/`);
    const reader = response.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: first\n\n');
    stop.abort();
    expect((await reader.read()).done).toBe(true);
    await expect.poll(() => listeners.drain, { timeout: 2000, interval: 5 }).toBe(0);
    expect(listeners.close).toBe(0);
  });
});
