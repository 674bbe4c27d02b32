import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getHeapSnapshot } from 'node:v8';
import { afterEach, expect, it } from 'vitest';
import type { LlmStreamEvent } from '../../src/llm/llm-provider.js';
import { OpenAIProvider } from '../../src/llm/openai-provider.js';
import { collect, collectFailure, textOf } from './helpers.js';

/**
 * Whether any string on the heap contains `fragment`. A heap snapshot collects garbage first, so
 * only what something still references is in it; strings appear JSON-escaped, as `fragment` must.
 */
async function heapHolds(fragment: string): Promise<boolean> {
  let tail = '';
  for await (const chunk of getHeapSnapshot()) {
    const text = tail + (chunk as Buffer).toString('latin1');
    if (text.includes(fragment)) return true;
    tail = text.slice(-fragment.length);
  }
  return false;
}

/** The byte lengths of the array buffers on the heap (their memory lies outside it). */
async function arrayBufferSizes(): Promise<Set<number>> {
  const chunks: Buffer[] = [];
  for await (const chunk of getHeapSnapshot()) chunks.push(chunk as Buffer);
  const snapshot = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
    snapshot: { meta: { node_fields: string[] } };
    nodes: number[];
    strings: string[];
  };
  const fields = snapshot.snapshot.meta.node_fields;
  const [name, size] = [fields.indexOf('name'), fields.indexOf('self_size')];
  const sizes = new Set<number>();
  for (let i = 0; i < snapshot.nodes.length; i += fields.length) {
    if (snapshot.strings[snapshot.nodes[i + name] as number] === 'system / JSArrayBufferData') {
      sizes.add(snapshot.nodes[i + size] as number);
    }
  }
  return sizes;
}

const servers: Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

/** Listens on a free local port (closed after the test); resolves the provider base URL. */
async function providerUrl(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
}

/** One streamed chunk of an OpenAI-style answer with `text` in it. */
const textChunk = (text: string) =>
  `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: text } }] })}\n\n`;

/** A request as the server read it: its headers and its body's length, the text not kept. */
interface HeldRequest {
  response: ServerResponse;
  headers: IncomingHttpHeaders;
  bytes: number;
}

/** An OpenAI-style server that answers each request only when the test says so. */
async function heldServer(): Promise<{ url: string; requests: AsyncIterator<HeldRequest> }> {
  const waiting: HeldRequest[] = [];
  let wake: (() => void) | undefined;
  const server = createServer((req, res) => {
    // Counted and dropped: the server must not keep the body itself.
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.flushHeaders();
      waiting.push({ response: res, headers: req.headers, bytes });
      wake?.();
    });
  });
  const url = await providerUrl(server);
  const requests: AsyncIterator<HeldRequest> = {
    async next() {
      while (waiting.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      return { done: false, value: waiting.shift() as HeldRequest };
    },
  };
  return { url, requests };
}

// A request body is the whole conversation and the tools' schemas, and a stream stays open for as
// long as the model writes: held to its end, 500 open streams hold 500 conversations once more.
it('keeps the request body for a retry until the first event, then lets it go', { timeout: 60_000 }, async () => {
  const { url, requests } = await heldServer();
  const provider = new OpenAIProvider({ kind: 'openai', apiKey: 'sk-test', baseUrl: url });
  const marker = `held-${randomUUID()}`;
  // Only the serialized body has the marker right after `"content":"` (escaped in the snapshot).
  const inBody = `\\"content\\":\\"${marker}`;
  const events = provider
    .stream({ model: 'gpt-4o', messages: [{ role: 'user', content: marker }] })
    [Symbol.asyncIterator]();
  const first = events.next();
  const { response } = (await requests.next()).value as HeldRequest;

  // Sent, answered with headers, no event yet: a retry may still need it.
  expect(await heapHolds(inBody)).toBe(true);

  response.write(textChunk('Hi'));
  expect((await first).value).toEqual({ type: 'text', text: 'Hi' });
  expect(await heapHolds(inBody)).toBe(false);

  response.end('data: [DONE]\n\n');
  const rest: string[] = [];
  for (let next = await events.next(); !next.done; next = await events.next()) rest.push(next.value.type);
  expect(rest).toContain('finish');
});

/** Streams one answer to a question of `chars` characters; returns the request and what was held mid-answer. */
async function heldDuringAnswer(chars: number): Promise<{ request: HeldRequest; held: Set<number>; text: string }> {
  const { url, requests } = await heldServer();
  const provider = new OpenAIProvider({ kind: 'openai', apiKey: 'sk-test', baseUrl: url });
  const events = provider
    .stream({ model: 'gpt-4o', messages: [{ role: 'user', content: 'é'.repeat(chars) }] })
    [Symbol.asyncIterator]();
  const first = events.next();
  const request = (await requests.next()).value as HeldRequest;
  request.response.write(textChunk('Hi'));
  await first;
  // Mid-answer: the provider's socket is open and the call is reading it.
  const held = await arrayBufferSizes();
  request.response.end(`${textChunk('Hi')}data: [DONE]\n\n`);
  const rest: LlmStreamEvent[] = [];
  for (let next = await events.next(); !next.done; next = await events.next()) rest.push(next.value);
  return { request, held, text: `Hi${textOf(rest)}` };
}

// undici keeps the bytes of a request's body until the answer ends. A short body (most turns)
// goes as it is; a long one goes as an iterable that lets its bytes go once written.
it('does not hold the bytes of a long request body while the answer streams', { timeout: 60_000 }, async (context) => {
  // Node 24's heap snapshots leave out the memory of a buffer made from a string, as undici makes
  // a body's: there this cannot be seen.
  const probe = Buffer.from('x'.repeat(12_347));
  const visible = (await arrayBufferSizes()).has(probe.byteLength);
  probe.fill(1);
  if (!visible) context.skip();

  const long = await heldDuringAnswer(300_000);
  expect(long.text).toBe('HiHi');
  // Sent whole, with its length (not chunked): what the provider's HTTP server expects.
  expect(long.request.headers['content-length']).toBe(String(long.request.bytes));
  expect(long.request.headers['transfer-encoding']).toBeUndefined();
  expect(long.request.bytes).toBeGreaterThan(600_000);
  expect(long.held.has(long.request.bytes)).toBe(false);

  // The check can see a held body: a short one's bytes are held (the cheaper way to send it).
  const short = await heldDuringAnswer(6_000);
  expect(short.request.headers['content-length']).toBe(String(short.request.bytes));
  expect(short.held.has(short.request.bytes)).toBe(true);
});

// A long body goes as an iterable, written after the headers: the provider may refuse the
// request before it has read the body (a size limit, a bad key) and the next call must still work.
it('takes a refusal sent before a long body was read, and the next call goes through', {
  timeout: 60_000,
}, async () => {
  let calls = 0;
  const server = createServer((req, res) => {
    calls++;
    if (calls === 1) {
      // Answered at once, the body left unread.
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'prompt too long' } }));
      return;
    }
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(`${textChunk(`read ${bytes}`)}data: [DONE]\n\n`);
    });
  });
  const url = await providerUrl(server);
  const provider = new OpenAIProvider({ kind: 'openai', apiKey: 'sk-test', baseUrl: url }, { maxRetries: 0 });
  const long = { model: 'gpt-4o', messages: [{ role: 'user' as const, content: 'é'.repeat(1_000_000) }] };

  const { error: refused } = await collectFailure(provider.stream(long));
  expect(refused.code).toBe('PROVIDER_ERROR');
  expect(refused.message).toContain('prompt too long');

  const text = textOf(await collect(provider.stream(long)));
  expect(text).toMatch(/^read \d+$/);
  expect(Number(text.slice(5))).toBeGreaterThan(2_000_000);
});
