import { createHook } from 'node:async_hooks';
import { request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, expect, it } from 'vitest';
import { toExpressMiddleware } from '../../src/adapters/express.js';
import { type Stack, startStack } from './stack.js';

// A streamed token goes from the provider's socket to the client's with no promise of the
// library's own (the chat loop's `onToken`, the provider's `onText`, the body's `readEach`, the
// memory log's `appendSync`, the SSE writer's push path): each promise a token costs is
// allocation and CPU multiplied by every token of every open stream.

let stack: Stack | undefined;
let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  await stack?.close();
  stack = server = undefined;
});

/** POSTs through plain `node:http` (no promise on the client's side) and calls `onFrame` with each SSE event name. */
function postStream(port: number, path: string, body: unknown, onFrame: (event: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      {
        port,
        path,
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer user:alice' },
      },
      (response) => {
        let pending = '';
        response.setEncoding('utf8');
        response.on('data', (text: string) => {
          pending += text;
          for (let end = pending.indexOf('\n\n'); end >= 0; end = pending.indexOf('\n\n')) {
            const frame = pending.slice(0, end);
            pending = pending.slice(end + 2);
            const name = /^event: (.+)$/m.exec(frame)?.[1];
            if (name !== undefined) onFrame(name);
          }
        });
        response.on('end', resolve);
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(JSON.stringify(body));
  });
}

it('a streamed token through Express with memory storage costs no promise of the library', async () => {
  stack = await startStack();
  const app = express();
  app.use('/llmchat', toExpressMiddleware(stack.handler));
  const listening = app.listen(0, '127.0.0.1');
  server = listening;
  await new Promise((resolve) => listening.once('listening', resolve));
  const { port } = listening.address() as AddressInfo;
  await postStream(port, '/llmchat/connect', { llm: { model: 'fake' } }, () => {});

  let promises = 0;
  const hook = createHook({
    init(_id, type) {
      // The library's own: the test's fake LLM and MCP servers run in this process too.
      if (type === 'PROMISE' && /[/\\]src[/\\]/.test(new Error().stack ?? '')) promises++;
    },
  });
  const between: number[] = [];
  let last: number | undefined;
  hook.enable();
  try {
    // 60 tokens, each its own network read 20 ms after the last.
    await postStream(port, '/llmchat/chat', { message: 'slowly but briefly', streaming: true }, (event) => {
      if (event !== 'token') return;
      if (last !== undefined) between.push(promises - last);
      last = promises;
    });
  } finally {
    hook.disable();
  }
  expect(between.length).toBeGreaterThanOrEqual(30);
  // The first gaps hold the body's one wait; from then on, nothing of ours between two tokens.
  const steady = between.slice(5);
  expect(steady.filter((count) => count > 0)).toEqual([]);
});
