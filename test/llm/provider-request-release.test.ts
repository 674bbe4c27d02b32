import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getHeapSnapshot } from 'node:v8';
import { afterEach, expect, it } from 'vitest';
import { OpenAIProvider } from '../../src/llm/openai-provider.js';

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

const servers: Array<{ close: () => void }> = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

/** An OpenAI-style server that answers each request only when the test says so. */
async function heldServer(): Promise<{ url: string; requests: AsyncIterator<ServerResponse> }> {
  const waiting: ServerResponse[] = [];
  let wake: (() => void) | undefined;
  const server = createServer((req, res) => {
    // Read and dropped: the server must not keep the body's text itself.
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.flushHeaders();
      waiting.push(res);
      wake?.();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  servers.push({ close: () => server.close() });
  const requests: AsyncIterator<ServerResponse> = {
    async next() {
      while (waiting.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      return { done: false, value: waiting.shift() as ServerResponse };
    },
  };
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, requests };
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
  const response = (await requests.next()).value as ServerResponse;

  // Sent, answered with headers, no event yet: a retry may still need it.
  expect(await heapHolds(inBody)).toBe(true);

  response.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: 'Hi' } }] })}\n\n`);
  expect((await first).value).toEqual({ type: 'text', text: 'Hi' });
  expect(await heapHolds(inBody)).toBe(false);

  response.end('data: [DONE]\n\n');
  const rest: string[] = [];
  for (let next = await events.next(); !next.done; next = await events.next()) rest.push(next.value.type);
  expect(rest).toContain('finish');
});
