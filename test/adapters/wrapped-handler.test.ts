import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatHandler } from '../../src/http/chat-handler.js';
import { jsonRequest, readFrames, type Stack, startStack } from '../http/stack.js';
import { HOSTS, MOUNT, type RunningHost } from './hosts.js';

// Hosts wrap handlers: to log, to add headers, to re-route. Whatever the wrapper does with the
// Request and the Response, the Node fast path must not show: the body arrives whole, the stream
// has every event, and the turn lock is let go.
const WRAPPERS: Array<[string, (inner: ChatHandler) => ChatHandler]> = [
  ['a spread with a logging fetch', (inner) => ({ ...inner, fetch: (request) => inner.fetch(request) })],
  [
    'a wrapper that rebuilds the Request',
    (inner) => ({ ...inner, fetch: (request) => inner.fetch(new Request(request, { headers: request.headers })) }),
  ],
  [
    'a wrapper that logs a clone of the Request body',
    (inner) => ({
      ...inner,
      fetch: async (request) => {
        if (request.method === 'POST') expect((await request.clone().text()).length).toBeGreaterThan(0);
        return inner.fetch(request);
      },
    }),
  ],
  [
    'a second Response built from the first',
    (inner) => ({
      ...inner,
      fetch: async (request) => {
        const response = await inner.fetch(request);
        const headers = new Headers(response.headers);
        headers.set('x-wrapped', '1');
        return new Response(response.body, { status: response.status, headers });
      },
    }),
  ],
  [
    'a Proxy',
    (inner) =>
      new Proxy(inner, {
        get: (target, property, receiver) => Reflect.get(target, property, receiver),
      }),
  ],
];

const SOME_HOSTS = HOSTS.filter((host) =>
  ['express 5 + express.json()', 'express 4', 'fastify 5', 'koa 3 + bodyparser', 'node:http bridge'].includes(
    host.name,
  ),
);

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack.close();
});

function post(origin: string, path: string, user: string, body: unknown): Promise<Response> {
  return fetch(`${origin}${MOUNT}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer user:${user}` },
    body: JSON.stringify(body),
  });
}

describe.each(SOME_HOSTS.map((host) => [host.name, host] as const))('a wrapped handler on %s', (_name, host) => {
  it.each(WRAPPERS)('%s gets real bodies both ways and frees the turn lock', async (wrapper, wrap) => {
    const running: RunningHost = await host.start(wrap(stack.handler));
    const user = `wrapped-${host.name}-${wrapper}`.replace(/\W+/g, '-');
    try {
      const connected = await post(running.origin, '/connect', user, { llm: { model: 'fake' } });
      expect(connected.status).toBe(200);
      expect((await connected.json()).tools).toContain('add');

      const streamed = await post(running.origin, '/chat', user, { message: 'add 1 and 2', streaming: true });
      expect(streamed.status).toBe(200);
      const frames = await readFrames(streamed);
      expect(frames.map((frame) => frame.event)).toEqual(['tool_start', 'tool_end', 'token', 'final']);
      expect(frames.at(-1)?.data).toMatchObject({ content: 'The result is 3.' });

      // The lock of the streamed turn was let go: the next turn runs.
      const next = await post(running.origin, '/chat', user, { message: 'hello' });
      expect([next.status, (await next.json()).response]).toEqual([200, 'Hello from the fake.']);
    } finally {
      await running.close();
    }
  });
});

describe('a streamed Response a host drops without reading or cancelling it', () => {
  it('still runs the turn to its end and frees the lock', async () => {
    const { handler } = stack;
    expect((await handler.fetch(jsonRequest('/connect', 'dropper', { llm: { model: 'fake' } }))).status).toBe(200);
    const dropped = await handler.fetch(jsonRequest('/chat', 'dropper', { message: 'add 2 and 2', streaming: true }));
    expect(dropped.status).toBe(200);
    // Nobody reads `dropped`. The turn still ends, is saved, and lets the lock go.
    await expect
      .poll(async () => (await handler.fetch(jsonRequest('/chat', 'dropper', { message: 'hello' }))).status, {
        timeout: 5000,
        interval: 50,
      })
      .toBe(200);
    const sent = stack.llm.requests.at(-1)?.body.messages as Array<{ role: string; content: unknown }>;
    expect(sent.some((message) => message.role === 'assistant' && message.content === 'The result is 4.')).toBe(true);
  });
});
