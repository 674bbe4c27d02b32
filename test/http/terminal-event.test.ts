import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOSTS, MOUNT, type RunningHost } from '../adapters/hosts.js';
import { jsonRequest, readFrames, type Stack, smartReply, startStack } from './stack.js';

// Whatever the model sends, every streamed turn ends with exactly one `final` or `error` event,
// and the connection ends cleanly (a reset socket leaves a client with nothing to show).
const DEPTH = 6000;
const deepArguments = `${'{"a":'.repeat(DEPTH)}1${'}'.repeat(DEPTH)}`;

let stack: Stack;
let host: RunningHost;
beforeAll(async () => {
  stack = await startStack();
  // "add deeply" gets a tool call nested 6,000 deep; everything else the usual answers.
  stack.llm.reply((request) => {
    const last = (request.body?.messages as Array<{ role: string; content: unknown }> | undefined)?.at(-1);
    return last?.role === 'user' && last.content === 'add deeply'
      ? { kind: 'tool_calls', calls: [{ name: 'add', arguments: deepArguments }] }
      : smartReply(request);
  });
  host = await (HOSTS.find((h) => h.name === 'express 5') ?? HOSTS[0])!.start(stack.handler);
});
afterAll(async () => {
  await host.close();
  await stack.close();
});

describe('a tool call whose arguments are nested 6,000 deep', () => {
  it('ends the stream with exactly one terminal event, over a real socket', async () => {
    const user = 'deep-socket';
    await stack.handler.fetch(jsonRequest('/connect', user, { llm: { model: 'fake' } }));
    const response = await fetch(`${host.origin}${MOUNT}/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer user:${user}` },
      body: JSON.stringify({ message: 'add deeply', streaming: true }),
    });
    expect(response.status).toBe(200);
    const frames = await readFrames(response);
    const terminal = frames.filter((frame) => frame.event === 'final' || frame.event === 'error');
    expect(terminal, JSON.stringify(frames.map((f) => f.event))).toHaveLength(1);
    expect(frames.at(-1)).toBe(terminal[0]);
    // The call was refused, said so, and the turn went on to an answer.
    expect(frames.map((frame) => frame.event)).toEqual(['tool_start', 'tool_error', 'token', 'final']);
    expect(frames[1]?.data).toMatchObject({ tool: 'add', error: expect.stringMatching(/nested more than/) });
  });

  it('ends the stream with exactly one terminal event through handler.fetch', async () => {
    const user = 'deep-fetch';
    await stack.handler.fetch(jsonRequest('/connect', user, { llm: { model: 'fake' } }));
    const response = await stack.handler.fetch(jsonRequest('/chat', user, { message: 'add deeply', streaming: true }));
    const frames = await readFrames(response);
    const terminal = frames.filter((frame) => frame.event === 'final' || frame.event === 'error');
    expect(terminal).toHaveLength(1);
    expect(frames.at(-1)).toBe(terminal[0]);
    // And the user can go on.
    const next = await stack.handler.fetch(jsonRequest('/chat', user, { message: 'hello' }));
    expect([next.status, (await next.json()).response]).toEqual([200, 'Hello from the fake.']);
  });
});
