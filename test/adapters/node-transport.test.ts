import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { toExpressMiddleware } from '../../src/adapters/express.js';
import type { FetchLike } from '../../src/types.js';
import { jsonRequest, type Stack, startStack } from '../http/stack.js';
import { MOUNT } from './hosts.js';

// undici's fetch marks its requests with `sec-fetch-mode`; `node:http` sends no such header.
const viaUndici = (stack: Stack) => stack.llm.requests.at(-1)?.headers['sec-fetch-mode'] !== undefined;

let stack: Stack | undefined;
let server: ReturnType<ReturnType<typeof express>['listen']> | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
  await stack?.close();
  stack = undefined;
});

async function chatThroughExpress(current: Stack): Promise<void> {
  const app = express();
  app.use(MOUNT, toExpressMiddleware(current.handler));
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server?.once('listening', resolve));
  const address = server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}${MOUNT}`;
  const headers = { 'content-type': 'application/json', authorization: 'Bearer user:nina' };
  await fetch(`${base}/connect`, { method: 'POST', headers, body: JSON.stringify({ llm: { model: 'fake' } }) });
  const chat = await fetch(`${base}/chat`, { method: 'POST', headers, body: JSON.stringify({ message: 'hello' }) });
  expect((await chat.json()).response).toBe('Hello from the fake.');
}

describe('the Node transport for provider calls', () => {
  it('is installed by the Node adapters', async () => {
    stack = await startStack();
    await chatThroughExpress(stack);
    expect(viaUndici(stack)).toBe(false);
  });

  it('is not used by handler.fetch alone, nor when the host sets llm.fetch', async () => {
    stack = await startStack();
    await stack.handler.fetch(jsonRequest('/connect', 'nina', { llm: { model: 'fake' } }));
    await stack.handler.fetch(jsonRequest('/chat', 'nina', { message: 'hello' }));
    expect(viaUndici(stack)).toBe(true);
    await stack.close();

    let hostCalls = 0;
    const hostFetch: FetchLike = (input, init) => {
      hostCalls += 1;
      return globalThis.fetch(input, init);
    };
    stack = await startStack({ llm: { fetch: hostFetch } });
    await chatThroughExpress(stack);
    expect(hostCalls).toBe(1);
    expect(viaUndici(stack)).toBe(true);
  });
});
