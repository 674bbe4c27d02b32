import { once } from 'node:events';
import { type AddressInfo, connect } from 'node:net';
import type { Readable } from 'node:stream';
import { createGunzip, gzipSync } from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { toFastifyPlugin } from '../../src/adapters/fastify.js';
import type { ChatHandler } from '../../src/http/chat-handler.js';
import { createChatHandler } from '../../src/index.js';
import { createFakeChatHandler } from './fake-chat-handler.js';
import { MOUNT } from './hosts.js';

let app: FastifyInstance | undefined;
let closeHandler: (() => Promise<void>) | undefined;

afterEach(async () => {
  app?.server.closeAllConnections();
  await app?.close();
  await closeHandler?.();
  app = undefined;
  closeHandler = undefined;
});

/** A Fastify app with the plugin on {@link MOUNT}; `setup` runs first, on the root scope. */
async function start(handler: ChatHandler, setup?: (root: FastifyInstance) => void, logs?: string[]) {
  app = Fastify(logs ? { logger: { level: 'error', stream: { write: (line: string) => logs.push(line) } } } : {});
  setup?.(app);
  await app.register(toFastifyPlugin(handler), { prefix: MOUNT });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

/** The real handler, signed in as alice, closed after the test (it calls no provider here). */
function realHandler(): ChatHandler {
  const handler = createChatHandler({
    authenticate: async () => ({ id: 'alice' }),
    models: [{ id: 'gpt-4o', provider: 'openai', apiKey: 'unused' }],
  });
  closeHandler = () => handler.close();
  return handler;
}

describe('toFastifyPlugin and request bodies', () => {
  it("answers 413 on a declared Content-Length above the handler's limit, without waiting for the body", async () => {
    const handler = realHandler();
    const origin = await start(handler);
    const socket = connect(Number(new URL(origin).port), '127.0.0.1');
    await once(socket, 'connect');
    let answer = '';
    const statusLine = new Promise<string>((resolve) => {
      socket.on('data', (chunk) => {
        answer += chunk;
        if (answer.includes('\r\n')) resolve(answer.slice(0, answer.indexOf('\r\n')));
      });
    });
    // 5 MB declared (above the handler's 1 MiB default, below Fastify's 10 MiB), 5 bytes sent.
    socket.write(
      `POST ${MOUNT}/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000000\r\n\r\n{"a":`,
    );
    const timeout = new Promise<string>((resolve) => setTimeout(() => resolve('(no answer within 1 s)'), 1000));
    try {
      expect(await Promise.race([statusLine, timeout])).toBe('HTTP/1.1 413 Payload Too Large');
    } finally {
      socket.destroy();
    }
  });

  it("leaves the parsers of the host's own routes alone", async () => {
    const origin = await start(createFakeChatHandler().handler, (root) => {
      root.post('/outside', async (request) => ({ parsed: request.body }));
    });
    const response = await fetch(`${origin}/outside`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
    });
    expect(await response.json()).toEqual({ parsed: { a: 1 } });
  });

  it('hands on a payload a preParsing hook replaced (request decompression)', async () => {
    const origin = await start(createFakeChatHandler().handler, (root) => {
      root.addHook('preParsing', async (request, _reply, payload) =>
        request.headers['content-encoding'] === 'gzip' ? (payload.pipe(createGunzip()) as Readable) : payload,
      );
    });
    const response = await fetch(`${origin}${MOUNT}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: gzipSync('{"message":"hi"}'),
    });
    expect(response.status).toBe(200);
    expect((await response.json()).body).toBe('{"message":"hi"}');
  });
});

describe('toFastifyPlugin and a response Node refuses to write', () => {
  it('answers 500 and logs the error, instead of leaving the socket open', async () => {
    const inner = createFakeChatHandler().handler;
    // `Headers` accepts a \x01 in a value, Node's `setHeader` refuses it (ERR_INVALID_CHAR).
    const wrapped: ChatHandler = {
      ...inner,
      fetch: async (request) => {
        const response = await inner.fetch(request);
        const headers = new Headers(response.headers);
        headers.set('x-turn-id', 'a\x01b');
        return new Response(response.body, { status: response.status, headers });
      },
    };
    const logs: string[] = [];
    const origin = await start(wrapped, undefined, logs);
    const response = await fetch(`${origin}${MOUNT}/echo`, { signal: AbortSignal.timeout(2000) });
    expect(response.status).toBe(500);
    expect(response.headers.get('content-type')).toBeNull();
    expect(await response.text()).toBe('');
    expect(logs.join('')).toContain('ERR_INVALID_CHAR');
  });
});

describe('toFastifyPlugin and what Fastify would answer itself', () => {
  it('hands a request whose Content-Type Fastify cannot read to the handler, as other hosts do', async () => {
    const origin = await start(createFakeChatHandler().handler);
    for (const contentType of ['nonsense', 'application/json, text/plain']) {
      const response = await fetch(`${origin}${MOUNT}/echo`, {
        method: 'POST',
        headers: { 'content-type': contentType },
        body: '{"message":"hi"}',
      });
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ method: 'POST', contentType, body: '{"message":"hi"}' });
    }
    // Other errors still reach the host's error handling.
    expect((await fetch(`${origin}${MOUNT}/throw`)).status).toBe(500);
  });

  it("answers the real handler's typed 415 and serves a body-less DELETE with such a Content-Type", async () => {
    const handler = realHandler();
    const origin = await start(handler);
    const connect = await fetch(`${origin}${MOUNT}/connect`, {
      method: 'POST',
      headers: { 'content-type': 'application/json, text/plain' },
      body: '{}',
    });
    expect(connect.status).toBe(415);
    expect(await connect.json()).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });
    const cleared = await fetch(`${origin}${MOUNT}/history/alice`, {
      method: 'DELETE',
      headers: { 'content-type': 'nonsense', 'content-length': '0' },
    });
    expect(cleared.status).toBe(200);
  });

  it('routes by the path under a prefix with parameters, or one the client percent-encoded', async () => {
    app = Fastify();
    await app.register(toFastifyPlugin(createFakeChatHandler().handler), { prefix: '/t/:tenant/llmchat' });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    for (const path of ['/t/acme/llmchat/echo?x=1', '/t/acme/ll%6Dchat/echo?x=1']) {
      const response = await fetch(`${origin}${path}`);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ path: '/echo', search: '?x=1' });
    }
  });
});

describe('toFastifyPlugin and methods Fastify routes nowhere', () => {
  it("answers them with the handler's 405 and Allow, as other hosts do, not Fastify's 404", async () => {
    const handler = realHandler();
    const origin = await start(handler, (root) => {
      root.get('/outside', async () => 'outside');
    });
    const socket = connect(Number(new URL(origin).port), '127.0.0.1');
    socket.write(`PURGE ${MOUNT}/status/alice HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    let answer = '';
    socket.on('data', (chunk) => {
      answer += chunk;
    });
    await once(socket, 'close');
    expect(answer).toMatch(/^HTTP\/1\.1 405/);
    expect(answer.toLowerCase()).toMatch(/\r\nallow: get\b/);
    expect(answer).toContain('"code":"METHOD_NOT_ALLOWED"');
    // The host's own 404s are left alone.
    expect((await fetch(`${origin}/nowhere`)).status).toBe(404);
  });

  it("registers without a prefix beside the app's own not-found handler", async () => {
    app = Fastify();
    app.setNotFoundHandler(async (_request, reply) => reply.code(404).send({ host: 'not found' }));
    await app.register(toFastifyPlugin(createFakeChatHandler().handler));
    await app.listen({ port: 0, host: '127.0.0.1' });
    const origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    expect(await (await fetch(`${origin}/echo`)).json()).toMatchObject({ path: '/echo' });
  });
});
