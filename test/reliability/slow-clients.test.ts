import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatHandler } from '../../src/http/chat-handler.js';
import { createChatHandler } from '../../src/http/create-chat-handler.js';
import { HOSTS, MOUNT, type RunningHost } from '../adapters/hosts.js';
import { collectGarbage } from '../fixtures/collect-garbage.js';
import type { RecordedRequest } from '../fixtures/fake-llm-common.js';
import { SECRETS, type Stack, smartReply, startStack } from '../http/stack.js';
import { call } from '../multiprocess/worker-process.js';

// Clients that stop reading, and clients that leave, under the 0.1 rule (`stopOnDisconnect`,
// which since 0.2 a host must ask for): a reader that stalls must not make the server buffer the
// LLM's answer without bound; a client that leaves frees the lock and stops the LLM call and the
// running tool call. (By default a turn outlives its reader: see test/turns.)
const OFFERED_BYTES = 1024 * 1024 * 1024;
const FRAME_TEXT = 'x'.repeat(4000);

/** An OpenAI-style LLM that streams an endless answer as fast as its socket takes it, honouring backpressure. */
interface Firehose {
  url: string;
  /** Bytes of the current answer written to the socket. */
  bytesWritten: number;
  /** Whether the stream is parked waiting for `drain`: the reader pushed back. */
  waitingForDrain: boolean;
  /** Whether the last answer's connection closed before it ended. */
  closedEarly: boolean;
  close(): Promise<void>;
}

async function startFirehose(): Promise<Firehose> {
  const state = { bytesWritten: 0, waitingForDrain: false, closedEarly: false };
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const last = String(body.messages?.at(-1)?.content ?? '');
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const frame = (delta: Record<string, unknown>, finish: string | null = null) =>
      `data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    if (last === 'short') {
      res.end(`${frame({ content: 'short answer' })}${frame({}, 'stop')}data: [DONE]\n\n`);
      return;
    }
    state.bytesWritten = 0;
    state.closedEarly = false;
    let closed = false;
    res.on('close', () => {
      closed = true;
      state.closedEarly = !res.writableFinished;
    });
    const data = frame({ content: FRAME_TEXT });
    while (!closed && state.bytesWritten < OFFERED_BYTES) {
      state.bytesWritten += data.length;
      if (!res.write(data)) {
        state.waitingForDrain = true;
        await new Promise<void>((resolve) => {
          const done = () => {
            res.off('drain', done);
            res.off('close', done);
            resolve();
          };
          res.on('drain', done);
          res.on('close', done);
        });
        state.waitingForDrain = false;
      }
    }
    if (!closed) res.end(`${frame({}, 'stop')}data: [DONE]\n\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(state, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}

function memory(): number {
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

describe('slow and vanished clients', () => {
  let stack: Stack;
  let firehose: Firehose;
  let handler: ChatHandler;
  let host: RunningHost;
  let baseUrl: string;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    firehose = await startFirehose();
    stack = await startStack();
    handler = createChatHandler({
      ...stack.options,
      stopOnDisconnect: true,
      models: [
        ...(stack.options.models as []),
        { id: 'hose', provider: 'openai_compatible', baseUrl: firehose.url, apiKey: SECRETS.apiKey },
      ],
    });
    const express5 = HOSTS.find((kind) => kind.name === 'express 5');
    if (!express5) throw new Error('no express 5 host');
    host = await express5.start(handler);
    baseUrl = `${host.origin}${MOUNT}`;
  }, 30_000);

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await host?.close();
    await handler?.close();
    await stack?.close();
    await firehose?.close();
  });

  it('a client that stops reading holds the server to bounded memory, and leaving frees everything', async () => {
    expect((await call(baseUrl, '/connect', { user: 'stan', body: { llm: { model: 'hose' } } })).status).toBe(200);
    await collectGarbage();
    const before = memory();

    const body = JSON.stringify({ message: 'tell me everything', streaming: true });
    const socket = connect(Number(new URL(host.origin).port), '127.0.0.1');
    sockets.push(socket);
    await once(socket, 'connect');
    socket.pause(); // never reads: the kernel buffers fill, then TCP pushes back
    socket.write(
      `POST ${MOUNT}/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
        `Authorization: Bearer user:stan\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );

    // Wait until the firehose is parked on backpressure and its count stops moving.
    let last = -1;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      if (firehose.waitingForDrain && firehose.bytesWritten === last) break;
      last = firehose.bytesWritten;
    }
    expect(firehose.waitingForDrain).toBe(true);
    expect(firehose.bytesWritten).toBe(last);
    // What left the LLM is bounded by socket and stream buffers, far below what was offered.
    expect(firehose.bytesWritten).toBeLessThan(64 * 1024 * 1024);
    await collectGarbage();
    const grownBytes = memory() - before;
    expect(grownBytes, `the LLM wrote ${firehose.bytesWritten} bytes`).toBeLessThan(50 * 1024 * 1024);

    socket.destroy();
    // The turn is stopped: the LLM connection closes and the lock is free again.
    await expect.poll(() => firehose.closedEarly, { timeout: 5000 }).toBe(true);
    await expect
      .poll(async () => (await call(baseUrl, '/chat', { user: 'stan', body: { message: 'short' } })).status, {
        timeout: 5000,
      })
      .toBe(200);
  }, 30_000);

  it('a client that leaves during a tool call cancels the tool, stops the LLM call and frees the lock', async () => {
    stack.llm.reply((request: RecordedRequest) => {
      const last = request.body?.messages?.at(-1);
      if (last?.role === 'user' && /run slow/.test(String(last.content))) {
        return { kind: 'tool_calls', calls: [{ name: 'slow', arguments: { ms: 10_000 } }] };
      }
      return smartReply(request);
    });
    expect((await call(baseUrl, '/connect', { user: 'tia', body: { llm: { model: 'fake' } } })).status).toBe(200);

    // Leaving during a tool call: the MCP server is told to cancel it.
    const cancelledBefore = stack.mcp.stats.slowCancelled;
    const controller = new AbortController();
    const toolTurn = await fetch(`${baseUrl}/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer user:tia' },
      body: JSON.stringify({ message: 'run slow', streaming: true }),
      signal: controller.signal,
    });
    const reader = (toolTurn.body as ReadableStream<Uint8Array>).getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain('event: tool_start');
    await expect.poll(() => stack.mcp.stats.slowStarted, { timeout: 5000 }).toBeGreaterThan(0);
    controller.abort();
    await expect.poll(() => stack.mcp.stats.slowCancelled, { timeout: 5000 }).toBe(cancelledBefore + 1);

    // Leaving while the LLM streams: its request is aborted.
    await expect
      .poll(async () => (await call(baseUrl, '/chat', { user: 'tia', body: { message: 'hi' } })).status, {
        timeout: 5000,
      })
      .toBe(200);
    const second = new AbortController();
    const llmTurn = await fetch(`${baseUrl}/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer user:tia' },
      body: JSON.stringify({ message: 'talk slowly', streaming: true }),
      signal: second.signal,
    });
    const llmReader = (llmTurn.body as ReadableStream<Uint8Array>).getReader();
    expect(new TextDecoder().decode((await llmReader.read()).value)).toContain('event: token');
    const llmRequest = stack.llm.requests.at(-1) as RecordedRequest;
    second.abort();
    await llmRequest.settled;
    expect(llmRequest.aborted).toBe(true);
    // And the lock is free again.
    await expect
      .poll(async () => (await call(baseUrl, '/chat', { user: 'tia', body: { message: 'back again' } })).status, {
        timeout: 5000,
      })
      .toBe(200);
  }, 30_000);
});
