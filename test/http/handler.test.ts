import { afterEach, describe, expect, it } from 'vitest';
import { memoryStorage } from '../../src/storage.js';
import type { FinalEvent } from '../../src/types.js';
import { parseSseText } from '../fixtures/sse-reader.js';
import { jsonRequest, readFrames, SECRETS, type Stack, startStack } from './stack.js';

// Handler behaviour that one host is enough to show (the shared suite covers the routes in every host).
let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

const connectBody = { llm: { model: 'fake' } };

describe('createChatHandler', () => {
  it('tells an expired session from one that never existed', async () => {
    stack = await startStack({ sessionTtlMs: 150 });
    const { handler } = stack;
    expect((await handler.fetch(jsonRequest('/connect', 'ann', connectBody))).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 250));
    const expired = await handler.fetch(jsonRequest('/chat', 'ann', { message: 'hi' }));
    expect(expired.status).toBe(400);
    expect(await expired.json()).toEqual({
      detail: expect.stringMatching(/^No active session found/),
      code: 'SESSION_EXPIRED',
    });
    const never = await handler.fetch(jsonRequest('/chat', 'ben', { message: 'hi' }));
    expect((await never.json()).code).toBe('SESSION_NOT_FOUND');
  });

  it('queues a second turn with the queue policy instead of refusing it', async () => {
    stack = await startStack({ turnPolicy: 'queue' });
    const { handler } = stack;
    await handler.fetch(jsonRequest('/connect', 'ann', connectBody));
    const [first, second] = await Promise.all([
      handler.fetch(jsonRequest('/chat', 'ann', { message: 'add 1 and 2' })),
      handler.fetch(jsonRequest('/chat', 'ann', { message: 'hello' })),
    ]);
    expect([first.status, second.status]).toEqual([200, 200]);
    const answers = [await first.json(), await second.json()].map((body) => body.response).sort();
    expect(answers).toEqual(['Hello from the fake.', 'The result is 3.']);
    // Serialized: whichever turn ran second started from a history holding the whole first turn.
    // Run side by side, neither would have seen the other's answer.
    const sent = stack.llm.requests.map(
      (request) => request.body.messages as Array<{ role: string; content: unknown }>,
    );
    const firstCallOf = (text: string) => sent.find((messages) => messages.at(-1)?.content === text) ?? [];
    const sawAnswer = (messages: Array<{ role: string; content: unknown }>, answer: string) =>
      messages.some((message) => message.role === 'assistant' && message.content === answer);
    const helloSawAdd = sawAnswer(firstCallOf('hello'), 'The result is 3.');
    const addSawHello = sawAnswer(firstCallOf('add 1 and 2'), 'Hello from the fake.');
    expect(helloSawAdd !== addSawHello, 'exactly one turn ran after the other').toBe(true);
  });

  it('matches routes under basePath when a host passes full URLs', async () => {
    stack = await startStack({ basePath: '/llmchat' });
    const ok = await stack.handler.fetch(jsonRequest('/llmchat/gateway/models', 'ann'));
    expect(ok.status).toBe(200);
    expect((await stack.handler.fetch(jsonRequest('/gateway/models', 'ann'))).status).toBe(404);
  });

  it('adds serverAuth headers when a connection is built, without storing them', async () => {
    const calls: string[] = [];
    stack = await startStack();
    const { mcp, llm } = stack;
    // The MCP server demands its token; only the hook supplies it.
    const { createChatHandler } = await import('../../src/http/create-chat-handler.js');
    const handler = createChatHandler({
      ...stack.options,
      storage: memoryStorage(),
      mcp: { defaultServer: { url: mcp.url } },
      serverAuth: ({ user, server }) => {
        calls.push(`${user.id} ${server.url}`);
        return { authorization: `Bearer ${SECRETS.mcpToken}` };
      },
    });
    try {
      const connected = await handler.fetch(jsonRequest('/connect', 'ann', connectBody));
      expect(connected.status).toBe(200);
      expect(calls).toEqual([`ann ${mcp.url}`]);
      const config = await (await handler.fetch(jsonRequest('/config/ann', 'ann'))).json();
      expect(JSON.stringify(config)).not.toContain(SECRETS.mcpToken);
      expect(config.mcp_server.headers).toEqual({});
      const chat = await handler.fetch(jsonRequest('/chat', 'ann', { message: 'add 4 and 5' }));
      expect((await chat.json()).response).toBe('The result is 9.');
      expect(llm.requests.length).toBeGreaterThan(0);
    } finally {
      await handler.close();
    }
  });

  it('stops a turn at turnTimeoutMs with a TIMEOUT error event and frees the lock', async () => {
    stack = await startStack({ turnTimeoutMs: 200 });
    const { handler } = stack;
    await handler.fetch(jsonRequest('/connect', 'ann', connectBody));
    const response = await handler.fetch(jsonRequest('/chat', 'ann', { message: 'talk slowly', streaming: true }));
    const frames = await readFrames(response);
    expect(frames.at(-1)).toMatchObject({ event: 'error', data: { code: 'TIMEOUT', recoverable: true } });
    expect(frames.filter((f) => f.event === 'final')).toHaveLength(0);
    const next = await handler.fetch(jsonRequest('/chat', 'ann', { message: 'hello' }));
    expect(next.status).toBe(200);
    // The interrupted answer was kept: the next LLM call saw it.
    const sent = stack.llm.requests.at(-1)?.body.messages as Array<{ role: string; content: string }>;
    expect(sent.some((m) => m.role === 'assistant' && m.content.startsWith('w0 '))).toBe(true);
  });

  it('sends heartbeats on an idle stream and sums usage in final', async () => {
    stack = await startStack({ keepAliveMs: 30 });
    const { handler, llm } = stack;
    await handler.fetch(jsonRequest('/connect', 'ann', connectBody));
    llm.reply({ kind: 'text', chunks: ['a', 'b'], delayMs: 120, usage: { input: 7, output: 2 } });
    const response = await handler.fetch(jsonRequest('/chat', 'ann', { message: 'hi', streaming: true }));
    const raw = await response.text();
    expect(raw).toContain(': ping\n\n');
    const final = parseSseText(raw).find((frame) => frame.event === 'final')?.data as FinalEvent;
    expect(final.usage).toEqual({ input_tokens: 7, output_tokens: 2 });
  });

  it('refuses bad options at construction', async () => {
    const { createChatHandler } = await import('../../src/http/create-chat-handler.js');
    expect(() => createChatHandler({ models: [] } as never)).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
    expect(() =>
      createChatHandler({ authenticate: () => null, models: [], mcp: { allowedUrls: ['ftp://x'] } }),
    ).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });

  it('answers 401 when authenticate throws, without showing the error', async () => {
    stack = await startStack({
      authenticate: () => {
        throw new Error('db password=hunter2');
      },
    });
    const response = await stack.handler.fetch(jsonRequest('/gateway/models', 'ann'));
    expect(response.status).toBe(401);
    expect(await response.text()).not.toContain('hunter2');
  });
});

describe('a streamed answer nobody reads', () => {
  it('lets the turn lock go after turnTimeoutMs and a grace period', async () => {
    stack = await startStack({ turnTimeoutMs: 150 });
    const { handler } = stack;
    await handler.fetch(jsonRequest('/connect', 'ann', connectBody));
    const unread = await handler.fetch(jsonRequest('/chat', 'ann', { message: 'talk slowly', streaming: true }));
    expect(unread.status).toBe(200);
    const blocked = await handler.fetch(jsonRequest('/chat', 'ann', { message: 'again' }));
    expect(blocked.status).toBe(409);
    // The host never reads or cancels `unread`: the lock still frees itself.
    await expect
      .poll(async () => (await handler.fetch(jsonRequest('/chat', 'ann', { message: 'hello' }))).status, {
        timeout: 3000,
        interval: 100,
      })
      .toBe(200);
  });
});
