import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOSTS, MOUNT, type RunningHost } from '../adapters/hosts.js';
import type { RecordedRequest } from '../fixtures/fake-llm-common.js';
import { type Stack, smartReply, startStack } from '../http/stack.js';
import { call, eventNames, parseSse } from '../multiprocess/worker-process.js';

// The MCP server dies while a tool call is in flight, then comes back on the same port.
describe('MCP server dies mid-call and comes back', () => {
  let stack: Stack;
  let host: RunningHost;
  let baseUrl: string;

  beforeAll(async () => {
    stack = await startStack();
    stack.llm.reply((request: RecordedRequest) => {
      const last = request.body?.messages?.at(-1);
      if (last?.role === 'user' && /run slow/.test(String(last.content))) {
        return { kind: 'tool_calls', calls: [{ name: 'slow', arguments: { ms: 10_000 } }] };
      }
      return smartReply(request);
    });
    const express5 = HOSTS.find((kind) => kind.name === 'express 5');
    if (!express5) throw new Error('no express 5 host');
    host = await express5.start(stack.handler);
    baseUrl = `${host.origin}${MOUNT}`;
  }, 30_000);

  afterAll(async () => {
    await host?.close();
    await stack?.close();
  });

  it('reports a tool_error, still ends the turn with final, and uses the tools again once the server is back', async () => {
    const connected = await call(baseUrl, '/connect', { user: 'mia', body: { llm: { model: 'fake' } } });
    expect(connected.status, connected.text).toBe(200);

    const response = await fetch(`${baseUrl}/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer user:mia' },
      body: JSON.stringify({ message: 'run slow', streaming: true }),
      signal: AbortSignal.timeout(15_000),
    });
    expect(response.status).toBe(200);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!text.includes('event: tool_start')) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    await expect.poll(() => stack.mcp.stats.slowStarted, { timeout: 5000 }).toBe(1);

    const stoppedAt = Date.now();
    await stack.mcp.stop();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    // The death is noticed at once, not after the 10 s tool call or the tool timeout.
    expect(Date.now() - stoppedAt).toBeLessThan(5000);
    const frames = parseSse(text);
    expect(eventNames(frames)).toEqual(['tool_start', 'tool_error', 'token', 'final']);
    expect(frames[1]?.data).toMatchObject({ type: 'tool_error', tool: 'slow', id: frames[0]?.data.id });
    expect(String(frames[1]?.data.error)).not.toMatch(/127\.0\.0\.1|ECONN|fetch failed/);
    expect(frames.at(-1)?.data).toMatchObject({ type: 'final', tool_used: true, tools: ['slow'] });
    // The model was told the call failed.
    const toolMessage = stack.llm.requests.at(-1)?.body.messages.at(-1);
    expect(toolMessage).toMatchObject({
      role: 'tool',
      content: expect.stringContaining(String(frames[1]?.data.error)),
    });

    // While it is down, a tool call fails cleanly too (the turn still answers).
    const whileDown = await call(baseUrl, '/chat', { user: 'mia', body: { message: 'add 1 and 1' } });
    expect(whileDown.status).toBe(200);
    expect(whileDown.json.tool_invocations.map((e: { type: string }) => e.type)).toEqual(['tool_start', 'tool_error']);

    await stack.mcp.start();
    const after = await call(baseUrl, '/chat', {
      user: 'mia',
      body: { message: 'please add 2 and 3', streaming: true },
    });
    expect(after.status).toBe(200);
    const afterFrames = parseSse(after.text);
    expect(eventNames(afterFrames)).toEqual(['tool_start', 'tool_end', 'token', 'final']);
    expect(afterFrames[1]?.data).toMatchObject({ type: 'tool_end', tool: 'add', output: '5' });
    expect(afterFrames.at(-1)?.data).toMatchObject({ content: 'The result is 5.' });
    expect(stack.mcp.stats.calls.add).toBe(1);
  });
});
