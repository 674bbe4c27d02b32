import { afterEach, describe, expect, it } from 'vitest';
import { memoryStorage } from '../../src/storage.js';
import { MemoryTurnBackend } from '../../src/turns/memory-turn-backend.js';
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

describe('POST /chat answers a turn that ended before its response was built', () => {
  // The provider fails at once: the turn ends within the request's own promise steps, before
  // the response is built. The turn log here keeps nothing, so only the turn's memory has it.
  async function failingStack(): Promise<Stack> {
    const turns = new MemoryTurnBackend();
    turns.append = async () => true;
    return startStack({
      storage: { ...memoryStorage(), turns },
      llm: {
        maxRetries: 0,
        fetch: async () => {
          throw new TypeError('fetch failed');
        },
      },
    });
  }

  it('as JSON', async () => {
    stack = await failingStack();
    const { handler } = stack;
    expect((await handler.fetch(jsonRequest('/connect', 'bob', { llm: { model: 'fake' } }))).status).toBe(200);
    const response = await handler.fetch(jsonRequest('/chat', 'bob', { message: 'hi', streaming: false }));
    expect(response.status).toBe(502);
    expect(await response.json()).toMatchObject({ code: 'PROVIDER_ERROR' });
  });

  it('as SSE', async () => {
    stack = await failingStack();
    const { handler } = stack;
    expect((await handler.fetch(jsonRequest('/connect', 'bob', { llm: { model: 'fake' } }))).status).toBe(200);
    const response = await handler.fetch(jsonRequest('/chat', 'bob', { message: 'hi', streaming: true }));
    const frames = await readFrames(response);
    expect(frames.map((frame) => frame.event)).toEqual(['error']);
    expect(frames[0]?.data).toMatchObject({ code: 'PROVIDER_ERROR' });
  });
});

describe('POST /chat with stopOnDisconnect, when the client left while the turn was set up', () => {
  it('stops the turn (and its LLM call) at once', async () => {
    const client = new AbortController();
    let providerSignal: AbortSignal | undefined;
    stack = await startStack({
      stopOnDisconnect: true,
      llm: {
        maxRetries: 0,
        fetch: (_input, init) => {
          // The client goes away just as the LLM call starts, before the response is built.
          client.abort();
          providerSignal = init?.signal ?? undefined;
          return new Promise((_resolve, reject) => {
            init?.signal?.addEventListener('abort', () => reject(init.signal?.reason), { once: true });
          });
        },
      },
    });
    const { handler } = stack;
    expect((await handler.fetch(jsonRequest('/connect', 'carol', { llm: { model: 'fake' } }))).status).toBe(200);
    // JSON: nothing but the request's signal tells the handler that the client left.
    const request = new Request(jsonRequest('/chat', 'carol', { message: 'hi', streaming: false }), {
      signal: client.signal,
    });
    void handler.fetch(request).catch(() => {});
    await expect.poll(() => providerSignal?.aborted, { timeout: 2000, interval: 5 }).toBe(true);
  });
});
