import { createHook } from 'node:async_hooks';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createTlsServer, request as httpsRequest } from 'node:https';
import { type AddressInfo, createServer as createNetServer, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DispatchedAnswer } from '../../src/llm/dispatched-answer.js';
import { NodeBodyReader } from '../../src/llm/node-body-reader.js';
import { OpenAIProvider } from '../../src/llm/openai-provider.js';
import type { LlmProviderRuntimeOptions } from '../../src/llm/provider-http.js';
import { postWithUndici } from '../../src/llm/undici-post.js';
import { freePort } from '../fixtures/free-port.js';
import { collect, collectFailure, expectSecretAbsent, FAST, textOf } from './helpers.js';

// Provider calls go over undici's request unless the host passes a fetch. These tests hold that
// transport to what fetch gave: the bytes on the wire that matter, connections reused, bodies let
// go, compressed answers decoded, and nothing a provider does can crash the process.

const execFileAsync = promisify(execFile);

const KEY = 'sk-transport-SECRET-1';
const hi = { model: 'm', messages: [{ role: 'user' as const, content: 'Hi' }] };

function chunk(text: string): string {
  return `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: text } }] })}\n\n`;
}
const FINISH = `data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\ndata: [DONE]\n\n`;

type Handler = (request: IncomingMessage, response: ServerResponse, body: string) => void;

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map((server) => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    }),
  );
});

async function serve(
  handler: Handler,
  server: Server = createServer(),
): Promise<{ url: string; connections: () => number }> {
  let connections = 0;
  server.on('connection', () => connections++);
  server.on('secureConnection', () => connections++);
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (part: string) => {
      body += part;
    });
    request.on('end', () => handler(request, response, body));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const scheme = 'cert' in server ? 'https' : 'http';
  return {
    url: `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    connections: () => (scheme === 'https' ? connections / 2 : connections),
  };
}

function provider(url: string, options: LlmProviderRuntimeOptions = FAST): OpenAIProvider {
  return new OpenAIProvider({ kind: 'openai', baseUrl: url, apiKey: KEY }, options);
}

describe('provider calls over undici', () => {
  it("sends the provider's headers and body with a length, asks for no compression, and reuses the connection", async () => {
    const seen: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
    const server = await serve((request, response, body) => {
      seen.push({ headers: request.headers, body });
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.end(chunk('hello') + FINISH);
    });
    const first = await collect(provider(server.url).stream(hi));
    // The stream is over at [DONE]; the body's last chunk may come a moment later, and until it
    // does the connection is busy (a call made at that very moment opens another). A tool call
    // between two LLM calls always leaves that moment.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const second = await collect(provider(server.url).stream(hi));
    expect(textOf(first)).toBe('hello');
    expect(textOf(second)).toBe('hello');
    expect(seen).toHaveLength(2);
    const { headers, body } = seen[0] as (typeof seen)[number];
    expect(headers.authorization).toBe(`Bearer ${KEY}`);
    expect(headers['content-type']).toBe('application/json');
    expect(headers['content-length']).toBe(String(Buffer.byteLength(body)));
    expect(headers['transfer-encoding']).toBeUndefined();
    expect(headers['accept-encoding']).toBe('identity');
    expect(headers['user-agent']).toBe('mcp-llmchat');
    expect(JSON.parse(body)).toMatchObject({ model: 'm', stream: true });
    // Kept alive: the second call rode the first call's socket.
    expect(server.connections()).toBe(1);
  });

  it.each([
    ['gzip', (text: string) => gzipSync(text)],
    ['br', (text: string) => brotliCompressSync(text)],
  ])('decodes an answer compressed with %s although none was asked for', async (encoding, compress) => {
    const server = await serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream', 'content-encoding': encoding });
      response.end(compress(chunk('squeezed ') + chunk('text') + FINISH));
    });
    expect(textOf(await collect(provider(server.url).stream(hi)))).toBe('squeezed text');
  });

  it('hands out the closing events without waiting for a body left open after [DONE], and cuts it soon after', async () => {
    let closedAt = 0;
    const server = await serve((request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      const call = { index: 0, id: 'c1', function: { name: 'add', arguments: '{"a":1}' } };
      response.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { tool_calls: [call] } }] })}\n\n`);
      response.write('data: [DONE]\n\n');
      // Never ended: a proxy holding the connection.
      request.socket.on('close', () => {
        closedAt = performance.now();
      });
    });
    const started = performance.now();
    const seen: string[] = [];
    for await (const event of provider(server.url).stream(hi)) seen.push(event.type);
    const doneAt = performance.now();
    expect(seen).toEqual(['tool_call', 'finish']);
    // The events did not wait for the body (a tool call would run with the body still draining).
    expect(closedAt).toBe(0);
    expect(doneAt - started).toBeLessThan(150);
    await vi.waitFor(() => expect(closedAt).toBeGreaterThan(0), { timeout: 2000 });
    expect(closedAt - doneAt).toBeLessThan(1000);
  });

  it('drains a body whose end comes after [DONE], so its socket serves the next call', async () => {
    const server = await serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write(chunk('late end') + FINISH);
      setTimeout(() => response.end(), 30);
    });
    expect(textOf(await collect(provider(server.url).stream(hi)))).toBe('late end');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(textOf(await collect(provider(server.url).stream(hi)))).toBe('late end');
    expect(server.connections()).toBe(1);
  });

  it('a reader that fell 64 KB behind and cancels still drains the rest, so the socket serves the next call', async () => {
    const server = await serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.end(chunk('x'.repeat(1000)).repeat(400));
    });
    const post = () =>
      postWithUndici(`${server.url}/chat/completions`, {
        headers: {},
        body: '{}',
        signal: new AbortController().signal,
      });
    const first = await post();
    // Nothing read: undici queues 64 KB for the reader, pauses, and the rest waits in the socket.
    await new Promise((resolve) => setTimeout(resolve, 100));
    await first.body?.getReader().cancel();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const reader = (await post()).body?.getReader();
    let bytes = 0;
    for (let step = await reader?.read(); step && !step.done; step = await reader?.read())
      bytes += step.value.byteLength;
    expect(bytes).toBeGreaterThan(400_000);
    expect(server.connections()).toBe(1);
  });

  it.each(['length', 'eof'])(
    'an answer that ends with its connection (%s) while its reader lags is read whole, and the process lives',
    async (framing) => {
      // In a process of its own: undici 7's assertion (nodejs/undici#5360) cannot be caught.
      const fixture = fileURLToPath(new URL('../fixtures/lagging-reader-on-closing-answer.ts', import.meta.url));
      const { stdout } = await execFileAsync(process.execPath, ['--import', 'tsx', fixture, framing], {
        cwd: fileURLToPath(new URL('../..', import.meta.url)),
      });
      const { bytes, sent } = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as { bytes: number; sent: number };
      expect(sent).toBeGreaterThan(64 * 1024);
      expect(bytes).toBe(sent);
    },
  );

  it('a compressed answer that fails to decode fails the read and cuts the request', async () => {
    let socketClosed = false;
    const server = await serve((request, response) => {
      request.socket.once('close', () => {
        socketClosed = true;
      });
      response.writeHead(200, { 'content-type': 'text/event-stream', 'content-encoding': 'gzip' });
      // Not gzip, and the answer stays open: only the client can end this request.
      response.write('this is not gzip at all');
    });
    const answer = await postWithUndici(`${server.url}/chat/completions`, {
      headers: {},
      body: '{}',
      signal: new AbortController().signal,
    });
    await expect(answer.body?.getReader().read()).rejects.toThrow();
    await vi.waitFor(() => expect(socketClosed).toBe(true), { timeout: 2_000 });
  });

  it("lets go of undici's raw header lines once the headers are read (views that pin the socket read carrying them)", async () => {
    const server = await serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream', 'x-request-id': 'req-42' });
      response.end(chunk('Hi') + FINISH);
    });
    type Controller = Parameters<DispatchedAnswer['onResponseStart']>[0];
    const seen: Array<{ controller: Controller; rawBefore: unknown }> = [];
    const onResponseStart = DispatchedAnswer.prototype.onResponseStart;
    const spy = vi.spyOn(DispatchedAnswer.prototype, 'onResponseStart').mockImplementation(function (
      this: DispatchedAnswer,
      controller,
      ...rest
    ) {
      seen.push({ controller, rawBefore: controller.rawHeaders });
      onResponseStart.call(this, controller, ...rest);
    });
    try {
      const answer = await postWithUndici(`${server.url}/chat/completions`, {
        headers: {},
        body: '{}',
        signal: new AbortController().signal,
      });
      expect(answer.headers.get('x-request-id')).toBe('req-42');
      const reader = answer.body?.getReader();
      let body = '';
      for (let read = await reader?.read(); read && !read.done; read = await reader?.read()) {
        body += Buffer.from(read.value).toString();
      }
      expect(body).toBe(chunk('Hi') + FINISH);
    } finally {
      spy.mockRestore();
    }
    expect(seen).toHaveLength(1);
    // undici put the raw lines there (Buffers), and the answer took them off.
    expect(Array.isArray(seen[0]?.rawBefore)).toBe(true);
    expect(seen[0]?.controller.rawHeaders).toBeNull();
  });

  it('an answer that fails to parse once it came whole is let go with no error left unheard', async () => {
    // The attempt ends (and its signal aborts) while the complete answer's socket returns to the
    // pool: destroying the request then used to leave that socket's error unheard, a crash.
    const unheard: unknown[] = [];
    const onUncaught = (error: unknown) => unheard.push(error);
    process.on('uncaughtException', onUncaught);
    try {
      const server = await serve((_request, response) => {
        response.writeHead(200, { 'content-type': 'text/event-stream' });
        response.end(`${chunk('part')}data: {"choices": [broken\n\n`);
      });
      for (let i = 0; i < 5; i++) {
        const { error } = await collectFailure(provider(server.url, { ...FAST, maxRetries: 0 }).stream(hi));
        expect(error.code).toBe('PROVIDER_ERROR');
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(unheard).toEqual([]);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });

  it('an error answer whose connection breaks mid-body is retried, and nothing is left unheard', async () => {
    let calls = 0;
    const server = await serve((_request, response) => {
      calls++;
      if (calls === 1) {
        response.writeHead(500, { 'content-type': 'application/json', 'content-length': '500' });
        response.write('{"error":{"message":"half');
        setTimeout(() => response.socket?.destroy(), 10);
        return;
      }
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.end(chunk('second try') + FINISH);
    });
    expect(textOf(await collect(provider(server.url).stream(hi)))).toBe('second try');
    expect(calls).toBe(2);
  });

  it('a connection reset right after the headers, before anything was read, fails the call cleanly', async () => {
    const server = await serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.flushHeaders();
      response.socket?.destroy();
    });
    const { events, error } = await collectFailure(provider(server.url, { ...FAST, maxRetries: 1 }).stream(hi));
    expect(events).toEqual([]);
    expect(error.code).toBe('PROVIDER_ERROR');
    expectSecretAbsent(error, KEY);
  });

  it('a refused connection → PROVIDER_ERROR after the retries, with no secret in it', async () => {
    const port = await freePort();
    const { error } = await collectFailure(
      provider(`http://127.0.0.1:${port}/v1`, { ...FAST, maxRetries: 2 }).stream(hi),
    );
    expect(error.code).toBe('PROVIDER_ERROR');
    expect(error.message).toMatch(/connection/);
    expectSecretAbsent(error, KEY);
  });

  it.each([
    ['undici', {}],
    ['a host fetch', { fetch: globalThis.fetch }],
  ])(
    'over %s, a header value with a line break is never sent, never retried, and never quoted',
    async (_name, transport) => {
      let received = 0;
      const server = await serve((_request, response) => {
        received++;
        response.end();
      });
      const warnings: unknown[] = [];
      const bad = new OpenAIProvider(
        { kind: 'openai', baseUrl: server.url, apiKey: 'sk-bad\r\nX-Injected: 1' },
        { ...FAST, ...transport, maxRetries: 3, logger: { warn: (...args: unknown[]) => warnings.push(args) } },
      );
      const { error } = await collectFailure(bad.stream(hi));
      expect(error.code).toBe('PROVIDER_ERROR');
      expect(error.message).toMatch(/could not be sent: the HTTP client refused one of its headers/);
      // fetch's own message quotes the value: it must not ride along as the cause.
      expectSecretAbsent(error, 'sk-bad');
      expect(warnings).toEqual([]);
      expect(received).toBe(0);
    },
  );

  it('a transport error that quotes the API key, or whose cause does, is kept with the key masked and its code', async () => {
    const leaky = new OpenAIProvider(
      { kind: 'openai', baseUrl: 'http://127.0.0.1:9/v1', apiKey: KEY },
      {
        ...FAST,
        maxRetries: 0,
        fetch: async () => {
          const deeper = new Error(`upstream said: bad key ${KEY}`);
          throw Object.assign(new TypeError(`proxy refused Authorization: Bearer ${KEY}`, { cause: deeper }), {
            code: 'ECONNRESET',
          });
        },
      },
    );
    const { error } = await collectFailure(leaky.stream(hi));
    expect(error.code).toBe('PROVIDER_ERROR');
    expectSecretAbsent(error, KEY);
    const cause = (error as { cause?: Error & { code?: string } }).cause;
    expect(String(cause)).toBe('TypeError: proxy refused Authorization: Bearer *****');
    expect(cause?.code).toBe('ECONNRESET');
    expect(String(cause?.cause)).toBe('Error: upstream said: bad key *****');
  });

  it('a default header the provider set in another spelling is sent once, as the provider set it', async () => {
    const seen: IncomingHttpHeaders[] = [];
    const server = await serve((request, response) => {
      seen.push(request.headers);
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.end(chunk('ok') + FINISH);
    });
    const custom = new OpenAIProvider(
      { kind: 'openai', baseUrl: server.url, apiKey: KEY, headers: { 'User-Agent': 'host-agent/1' } },
      FAST,
    );
    await collect(custom.stream(hi));
    expect(seen[0]?.['user-agent']).toBe('host-agent/1');
    expect(seen[0]?.['accept-encoding']).toBe('identity');
  });

  it('calls that alternate between providers each reach their own origin, path and query', async () => {
    const seen: string[] = [];
    const serveAs = (name: string) =>
      serve((request, response) => {
        seen.push(`${name} ${request.url}`);
        response.writeHead(200, { 'content-type': 'text/event-stream' });
        response.end(chunk(name) + FINISH);
      });
    const [a, b] = await Promise.all([serveAs('a'), serveAs('b')]);
    const calls = [`${a.url}?x=1`, `${b.url}`, `${a.url}?x=2`, `${a.url}?x=2`, `${b.url}?y=3`];
    for (const baseUrl of calls) await collect(provider(baseUrl).stream(hi));
    expect(seen).toEqual([
      'a /v1?x=1/chat/completions',
      'b /v1/chat/completions',
      'a /v1?x=2/chat/completions',
      'a /v1?x=2/chat/completions',
      'b /v1?y=3/chat/completions',
    ]);
  });

  it("hands each chunk's text to onText in the step the chunk arrives: no promise between two tokens", async () => {
    const { url } = await serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      const parts = [chunk('a'), chunk('b'), chunk('c'), chunk('d'), chunk('e'), chunk('f'), FINISH];
      const next = () => {
        const part = parts.shift();
        if (part === undefined) response.end();
        else {
          response.write(part);
          setTimeout(next, 25);
        }
      };
      next();
    });
    let promises = 0;
    const hook = createHook({
      init(_id, type) {
        // Only the library's and undici's own: the test runner talks to its workers meanwhile.
        if (type === 'PROMISE' && /[/\\]src[/\\]|undici/.test(new Error().stack ?? '')) promises++;
      },
    });
    const between: number[] = [];
    let last: number | undefined;
    const onText = (text: string) => {
      if (last !== undefined) between.push(promises - last);
      last = promises;
      expect(text).toMatch(/^[a-f]+$/);
      return undefined;
    };
    hook.enable();
    try {
      const events = await collect(provider(url).stream(hi, { onText }));
      expect(events.map((event) => event.type)).toEqual(['finish']);
    } finally {
      hook.disable();
    }
    // Six tokens, each its own network read (a busy machine may join two). The first gap holds
    // the one wait the call sets up for the whole body (the read, and its await); from then on
    // nothing async comes between them.
    expect(between.length).toBeGreaterThanOrEqual(3);
    expect(between.slice(1).every((count) => count === 0)).toBe(true);
  });

  it('hands the tokens of one network read to onText together, as one text', async () => {
    const { url } = await serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.flushHeaders();
      // A fast provider: a hundred chunks of the HTTP answer in one socket write.
      setTimeout(() => {
        response.socket?.cork();
        for (let i = 0; i < 100; i++) response.write(chunk(`t${i} `));
        response.write(FINISH);
        process.nextTick(() => {
          response.socket?.uncork();
          response.end();
        });
      }, 20);
    });
    const texts: string[] = [];
    const events = await collect(provider(url).stream(hi, { onText: (text) => void texts.push(text) }));
    expect(events.map((event) => event.type)).toEqual(['finish']);
    expect(texts.join('')).toBe(Array.from({ length: 100 }, (_, i) => `t${i} `).join(''));
    // undici hands the read's chunks over one by one; they reach the turn joined (one event, one
    // frame, one socket write), not a hundred times.
    expect(texts.length).toBeLessThanOrEqual(3);
  });

  it('an abort while the connection is still being made stops the call at once', async () => {
    // A TLS handshake that never finishes: the socket connects, the server says nothing.
    const sockets = new Set<Socket>();
    const silent = createNetServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const url = `https://127.0.0.1:${(silent.address() as AddressInfo).port}/v1`;
      const controller = new AbortController();
      const started = performance.now();
      setTimeout(() => controller.abort(), 50);
      const { error } = await collectFailure(
        provider(url, { ...FAST, maxRetries: 0 }).stream(hi, { signal: controller.signal }),
      );
      expect(error.code).toBe('ABORTED');
      expect(performance.now() - started).toBeLessThan(1000);
      // And a first-chunk timeout the same way.
      const timedStart = performance.now();
      const timed = await collectFailure(
        provider(url, { ...FAST, maxRetries: 0, firstChunkTimeoutMs: 100 }).stream(hi),
      );
      expect(timed.error.code).toBe('TIMEOUT');
      expect(performance.now() - timedStart).toBeLessThan(1000);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it("an https provider's certificate is verified: a self-signed one is refused", async () => {
    const cert = readFileSync(new URL('../fixtures/tls/loopback-cert.pem', import.meta.url));
    const key = readFileSync(new URL('../fixtures/tls/loopback-key.pem', import.meta.url));
    let served = 0;
    const server = await serve((_request, response) => {
      served++;
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.end(chunk('over tls') + FINISH);
    }, createTlsServer({ cert, key }));
    expect(server.url.startsWith('https://')).toBe(true);
    const { error } = await collectFailure(provider(server.url, { ...FAST, maxRetries: 0 }).stream(hi));
    expect(error.code).toBe('PROVIDER_ERROR');
    expect(served).toBe(0);
    // The server itself answers over TLS when asked without verification: the refusal above was
    // the certificate's, not a broken server.
    const insecure = await new Promise<number>((resolve, reject) => {
      httpsRequest(`${server.url}/chat/completions`, { method: 'POST', rejectUnauthorized: false }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      })
        .on('error', reject)
        .end('{}');
    });
    expect(insecure).toBe(200);
  });
});

describe('NodeBodyReader', () => {
  it('keeps what comes while nobody reads, and hands it over joined at the next read', async () => {
    const source = new PassThrough();
    const reader = new NodeBodyReader(source, () => source.destroy());
    source.write(Buffer.from('one '));
    source.write(Buffer.from('two'));
    await new Promise((resolve) => setImmediate(resolve));
    // Not flowing: nothing is handed out (or lost) until a read asks.
    expect(source.readableFlowing).toBe(false);
    expect(Buffer.from((await reader.read()).value as Uint8Array).toString()).toBe('one two');
    const pending = reader.read();
    source.end(Buffer.from('three'));
    expect(Buffer.from((await pending).value as Uint8Array).toString()).toBe('three');
    expect(await reader.read()).toEqual({ done: true, value: undefined });
  });

  it('gives the chunks of one run of writes to one pending read, then the end', async () => {
    const source = new PassThrough();
    const reader = new NodeBodyReader(source, () => source.destroy());
    const pending = reader.read();
    // What Node's HTTP parser does with one socket read holding three chunks and the end.
    source.write(Buffer.from('data: a\n\n'));
    source.write(Buffer.from('data: b\n\n'));
    source.end(Buffer.from('data: c\n\n'));
    expect(Buffer.from((await pending).value as Uint8Array).toString()).toBe('data: a\n\ndata: b\n\ndata: c\n\n');
    expect(await reader.read()).toEqual({ done: true, value: undefined });
  });

  it('holds back the source once it is well ahead of the reader, until a read takes it', async () => {
    const source = new PassThrough({ highWaterMark: 16 * 1024 });
    const reader = new NodeBodyReader(source, () => source.destroy());
    let accepted = 0;
    for (let turn = 0; turn < 100; turn++) {
      if (!source.write(Buffer.alloc(16 * 1024))) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        // Still full after the reader's side had its turn: backpressure, not growth.
        if (source.writableNeedDrain) break;
      }
      accepted += 16 * 1024;
    }
    // 64 KB taken ahead of the reader, plus the stream's own 16 KB and one chunk in flight.
    expect(accepted).toBeLessThanOrEqual(112 * 1024);
    const drained = new Promise((resolve) => source.once('drain', resolve));
    expect(((await reader.read()).value as Uint8Array).byteLength).toBeGreaterThanOrEqual(64 * 1024);
    await drained;
  });

  it('rejects a pending read when the stream closes before its end', async () => {
    const source = new PassThrough();
    const reader = new NodeBodyReader(source, () => source.destroy());
    const pending = reader.read();
    source.destroy();
    await expect(pending).rejects.toThrow(/terminated/);
    await expect(reader.read()).rejects.toThrow(/terminated/);
  });

  it('sees a failure that came before it was made', async () => {
    const source = new PassThrough();
    source.on('error', () => {});
    source.destroy(new Error('reset'));
    await new Promise((resolve) => setImmediate(resolve));
    const reader = new NodeBodyReader(source, () => {});
    await expect(reader.read()).rejects.toThrow('reset');
  });

  it('cancel ends a pending read, drops what was kept and frees the connection once', async () => {
    const source = new PassThrough();
    let destroyed = 0;
    const reader = new NodeBodyReader(source, () => {
      destroyed++;
      source.destroy();
    });
    const pending = reader.read();
    await reader.cancel();
    await reader.cancel();
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(await reader.read()).toEqual({ done: true, value: undefined });
    expect(destroyed).toBe(1);
  });
});

describe('a runtime where undici cannot load', () => {
  it('sends provider calls through the global fetch', async () => {
    const server = await serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.end(chunk('via fetch') + FINISH);
    });
    // A fresh copy of the transport, loaded where importing undici fails (an edge runtime).
    vi.resetModules();
    const unavailable = () => {
      throw new Error('undici is not available here');
    };
    vi.doMock('undici/lib/dispatcher/agent.js', unavailable);
    vi.doMock('undici', unavailable);
    const fetchSpy = vi.spyOn(globalThis, 'fetch');
    try {
      const { OpenAIProvider: FreshProvider } = await import('../../src/llm/openai-provider.js');
      const fresh = new FreshProvider({ kind: 'openai', baseUrl: server.url, apiKey: KEY }, FAST);
      expect(textOf(await collect(fresh.stream(hi)))).toBe('via fetch');
      expect(textOf(await collect(fresh.stream(hi)))).toBe('via fetch');
      expect(fetchSpy).toHaveBeenCalledTimes(2);
      expect(String(fetchSpy.mock.calls[0]?.[0])).toBe(`${server.url}/chat/completions`);
    } finally {
      vi.doUnmock('undici/lib/dispatcher/agent.js');
      vi.doUnmock('undici');
      fetchSpy.mockRestore();
      vi.resetModules();
    }
  });
});

describe("loading undici's agent", () => {
  it("loads the agent's own module, not undici's index (fetch, WebSocket, the mocks: megabytes of heap)", async () => {
    // A process of its own: this one has loaded undici's index for other tests.
    const script = `
      import { createServer } from 'node:http';
      import { createRequire } from 'node:module';
      import { postWithUndici } from './src/llm/undici-post.ts';
      const server = createServer((_request, response) => response.end('ok'));
      await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
      const answer = await postWithUndici('http://127.0.0.1:' + server.address().port + '/', {
        headers: {}, body: '{}', signal: new AbortController().signal,
      });
      const loaded = Object.keys(createRequire(import.meta.url).cache).filter((path) => /[\\/]node_modules[\\/]undici[\\/]/.test(path));
      console.log(JSON.stringify({ status: answer.status, loaded }));
      server.close();
      process.exit(0);
    `;
    const { stdout } = await execFileAsync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
    });
    const { status, loaded } = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as {
      status: number;
      loaded: string[];
    };
    expect(status).toBe(200);
    const relative = loaded.map((path) =>
      path.replace(/.*[\\/]node_modules[\\/]undici[\\/]/, '').replaceAll('\\', '/'),
    );
    expect(relative).toContain('lib/dispatcher/agent.js');
    expect(relative).not.toContain('index.js');
    expect(relative.some((path) => path.startsWith('lib/web/fetch/'))).toBe(false);
  });

  it("falls back to undici's index when the agent's module cannot be loaded", async () => {
    vi.resetModules();
    vi.doMock('undici/lib/dispatcher/agent.js', () => {
      throw new Error('hidden by a later undici');
    });
    // The index's Agent is the same class as the module's: a stand-in tells which was taken.
    class StandIn {}
    vi.doMock('undici', () => ({ Agent: StandIn }));
    try {
      const { importUndiciAgent } = await import('../../src/llm/undici-post.js');
      expect(await importUndiciAgent()).toBe(StandIn);
    } finally {
      vi.doUnmock('undici/lib/dispatcher/agent.js');
      vi.doUnmock('undici');
      vi.resetModules();
    }
  });
});
