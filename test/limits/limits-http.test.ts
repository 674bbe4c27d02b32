import { afterEach, describe, expect, it, vi } from 'vitest';
import { createChatHandler } from '../../src/http/create-chat-handler.js';
import { SessionStore } from '../../src/session/session-store.js';
import { memoryStorage } from '../../src/storage.js';
import { jsonRequest, readFrames, type Stack, startStack } from '../http/stack.js';

let stack: Stack | undefined;

afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

async function connect(s: Stack, user: string) {
  expect((await s.handler.fetch(jsonRequest('/connect', user, { llm: { model: 'fake' } }))).status).toBe(200);
}

function chat(s: Stack, user: string, message = 'hi') {
  return s.handler.fetch(jsonRequest('/chat', user, { message, streaming: false }));
}

describe('limits on POST /chat', () => {
  it('answers 429 RATE_LIMITED with Retry-After past the request window, per user', async () => {
    stack = await startStack({ limits: { requests: { limit: 2, windowMs: 60_000 } } });
    await connect(stack, 'ann');
    await connect(stack, 'bob');
    expect((await chat(stack, 'ann')).status).toBe(200);
    expect((await chat(stack, 'ann')).status).toBe(200);
    const refused = await chat(stack, 'ann');
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({ code: 'RATE_LIMITED' });
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // The LLM was not called for the refused request.
    expect(stack.llm.requests).toHaveLength(2);
    expect((await chat(stack, 'bob')).status).toBe(200);
  });

  it('lets the host decide per request: exempt admins, a tighter plan for free users', async () => {
    stack = await startStack({
      limits: {
        requests: { limit: 2, windowMs: 60_000 },
        forRequest: ({ user, request }) => {
          expect(request).toBeInstanceOf(Request);
          if (user.id === 'admin') return null;
          if (user.id === 'free') return { requests: { limit: 1, windowMs: 60_000 } };
          return undefined;
        },
      },
    });
    for (const user of ['admin', 'free', 'ann']) await connect(stack, user);
    const statuses = async (user: string) => {
      const out: number[] = [];
      for (let i = 0; i < 3; i++) out.push((await chat(stack as Stack, user)).status);
      return out;
    };
    expect(await statuses('admin')).toEqual([200, 200, 200]);
    expect(await statuses('free')).toEqual([200, 429, 429]);
    expect(await statuses('ann')).toEqual([200, 200, 429]);
  });

  it('caps open streams per user and frees the slot when the turn ends', async () => {
    stack = await startStack({ limits: { concurrentStreams: 1 } });
    const s = stack;
    await connect(s, 'ann');
    const slow = await s.handler.fetch(jsonRequest('/chat', 'ann', { message: 'say it slowly', streaming: true }));
    expect(slow.status).toBe(200);
    const reader = (slow.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    const second = await chat(s, 'ann');
    expect(second.status).toBe(429);
    expect(await second.json()).toMatchObject({ code: 'RATE_LIMITED' });
    expect(second.headers.get('retry-after')).toBe('1');
    // Since resumable turns, leaving does not stop a turn: POST /stop does.
    expect((await s.handler.fetch(jsonRequest('/stop', 'ann', {}))).status).toBe(200);
    await reader.cancel();
    await vi.waitFor(async () => expect((await chat(s, 'ann')).status).toBe(200));
  });

  it('refuses a turn once the daily token budget is spent, until the next UTC day', async () => {
    // The fake LLM reports 10 input and 5 output tokens per call.
    stack = await startStack({ limits: { tokensPerDay: 20 } });
    const s = stack;
    await connect(s, 'ann');
    expect((await chat(s, 'ann')).status).toBe(200);
    await vi.waitFor(async () => expect((await s.handler.usage?.tokensUsed('ann'))?.day).toBe(15));
    expect((await chat(s, 'ann')).status).toBe(200);
    await vi.waitFor(async () => expect((await s.handler.usage?.tokensUsed('ann'))?.day).toBe(30));
    const refused = await chat(s, 'ann');
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({ code: 'BUDGET_EXCEEDED' });
    const now = new Date();
    const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(Math.abs(retryAfter - Math.ceil((midnight - now.getTime()) / 1000))).toBeLessThanOrEqual(5);
    expect(s.llm.requests).toHaveLength(2);
  });

  it('ends a turn that runs out between LLM calls with BUDGET_EXCEEDED, saving its partial answer', async () => {
    const storage = memoryStorage();
    stack = await startStack({ storage, limits: { tokensPerMonth: 10 } });
    const s = stack;
    await connect(s, 'ann');
    const response = await s.handler.fetch(
      jsonRequest('/chat', 'ann', { message: 'please add 2 and 3', streaming: true }),
    );
    const frames = await readFrames(response);
    expect(frames.map((frame) => frame.event)).toEqual(['tool_start', 'tool_end', 'error']);
    expect(frames.at(-1)?.data).toMatchObject({ code: 'BUDGET_EXCEEDED', recoverable: false });
    // The second LLM call (after the tool) was never made.
    expect(s.llm.requests).toHaveLength(1);
    const history = await new SessionStore(storage.sessions).getHistory('ann');
    expect(history.map((message) => message.role)).toEqual(['user', 'assistant', 'tool', 'assistant']);
    expect(history[2]).toMatchObject({ role: 'tool', content: '5' });
    expect(history.at(-1)).toMatchObject({ role: 'assistant', interrupted: true });
    await storage.close();
  });

  it('refuses token budgets with a storage that has no usage backend', async () => {
    const storage = memoryStorage();
    const { usage: _usage, ...withoutUsage } = storage;
    expect(() =>
      createChatHandler({
        authenticate: () => ({ id: 'ann' }),
        models: [{ id: 'fake', provider: 'openai_compatible', baseUrl: 'http://127.0.0.1:9/v1' }],
        storage: withoutUsage,
        limits: { tokensPerDay: 5 },
      }),
    ).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    await storage.close();
  });
});
