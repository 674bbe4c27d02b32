import { afterEach, describe, expect, it } from 'vitest';
import { jsonRequest, readFrames, type Stack, startStack } from './stack.js';

// A `fetch` does its work in steps chained on promises before its request reaches the socket
// (undici: Request, fetch algorithm, dispatcher). A chat turn calls it, then builds its own SSE
// response: that work must wait, or it holds back the provider's request, and the first token.

const HOPS = 500;

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

describe('POST /chat starts the provider request before building its response', () => {
  it('lets a fetch finish its chained steps first', async () => {
    const order: string[] = [];
    stack = await startStack({
      llm: {
        fetch: (input, init) => {
          // Stands in for the fetch's own steps between the call and the request on the wire.
          let step = Promise.resolve();
          for (let i = 0; i < HOPS; i++) step = step.then(() => undefined);
          void step.then(() => order.push('provider request sent'));
          return globalThis.fetch(input, init);
        },
      },
    });
    const { handler } = stack;
    expect((await handler.fetch(jsonRequest('/connect', 'alice', { llm: { model: 'fake' } }))).status).toBe(200);

    const response = await handler.fetch(jsonRequest('/chat', 'alice', { message: 'hi', streaming: true }));
    order.push('chat response built');

    expect(order).toEqual(['provider request sent', 'chat response built']);
    const frames = await readFrames(response);
    const tokens = frames.filter((frame) => frame.event === 'token');
    expect(tokens.map((frame) => (frame.data as { content: string }).content).join('')).toBe('Hello from the fake.');
  });
});
