import { afterEach, describe, expect, it, vi } from 'vitest';
import type { UsageReport } from '../../src/usage/usage-report.js';
import { jsonRequest, readFrames, type Stack, startStack } from '../http/stack.js';

let stack: Stack | undefined;

afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

async function usageOf(s: Stack, path: string, user = 'ann') {
  const response = await s.handler.fetch(jsonRequest(path, user));
  return { status: response.status, body: (await response.json()) as UsageReport & { code?: string } };
}

describe('usage accounting over HTTP', () => {
  it('counts a tool-using turn per model and serves it at GET /usage/:user_id with cost', async () => {
    stack = await startStack({ usage: { prices: { fake: { inputPerMillion: 1_000, outputPerMillion: 2_000 } } } });
    const s = stack;
    expect((await s.handler.fetch(jsonRequest('/connect', 'ann', { llm: { model: 'fake' } }))).status).toBe(200);
    const frames = await readFrames(
      await s.handler.fetch(jsonRequest('/chat', 'ann', { message: 'please add 2 and 3', streaming: true })),
    );
    expect(frames.at(-1)?.event).toBe('final');
    const nonStreaming = await s.handler.fetch(jsonRequest('/chat', 'ann', { message: 'hi', streaming: false }));
    expect(nonStreaming.status).toBe(200);

    // Usage is written as calls end, a moment after the answer: wait for both turns.
    await vi.waitFor(async () => expect((await usageOf(s, '/usage/ann')).body.total.turns).toBe(2));
    const { status, body } = await usageOf(s, '/usage/ann');
    expect(status).toBe(200);
    // Three LLM calls (two for the tool turn, one for "hi"), each 10 tokens in and 5 out by the fake.
    expect(body.total).toMatchObject({ input_tokens: 30, output_tokens: 15, llm_calls: 3, turns: 2, tool_calls: 1 });
    expect(body.total.models.fake).toMatchObject({ input_tokens: 30, output_tokens: 15, llm_calls: 3 });
    expect(body.total.cost).toBeCloseTo((30 * 1000 + 15 * 2000) / 1e6, 9);
    expect(body.day.turns).toBe(2);
    expect(body.currency).toBe('USD');

    const withConversation = await usageOf(s, '/usage/ann?conversation_id=default');
    expect(withConversation.body.conversation).toMatchObject({ conversation_id: 'default', turns: 2 });
    expect((await usageOf(s, '/usage/?conversation_id=bad%20id')).status).toBe(404);
    expect((await usageOf(s, '/usage/ann?conversation_id=bad%20id')).status).toBe(422);
  });

  it('counts a turn of a named conversation under that conversation', async () => {
    stack = await startStack({ usage: true });
    const s = stack;
    expect((await s.handler.fetch(jsonRequest('/connect', 'ann', { llm: { model: 'fake' } }))).status).toBe(200);
    const answer = await s.handler.fetch(
      jsonRequest('/chat', 'ann', { message: 'hi', streaming: false, conversation_id: 'c1' }),
    );
    expect(answer.status).toBe(200);
    await vi.waitFor(async () => expect((await usageOf(s, '/usage/ann')).body.total.turns).toBe(1));
    expect((await usageOf(s, '/usage/ann?conversation_id=c1')).body.conversation).toMatchObject({
      conversation_id: 'c1',
      turns: 1,
      input_tokens: 10,
    });
    expect((await usageOf(s, '/usage/ann?conversation_id=default')).body.conversation).toMatchObject({ turns: 0 });
  });

  it('applies the user_id rule: another user is 403, an empty one would not route', async () => {
    stack = await startStack({ usage: true });
    expect((await usageOf(stack, '/usage/bob')).status).toBe(403);
    expect((await usageOf(stack, '/usage/bob', 'bob')).body.total.turns).toBe(0);
    expect((await usageOf(stack, '/usage/ann', null as unknown as string)).status).toBe(401);
  });

  it('answers 404 when accounting is off, and exposes the ledger as handler.usage when on', async () => {
    stack = await startStack();
    expect(await usageOf(stack, '/usage/ann')).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    expect(stack.handler.usage).toBeUndefined();
    await stack.close();
    stack = await startStack({ usage: true });
    expect(stack.handler.usage).toBeDefined();
    expect((await stack.handler.usage?.read('ann'))?.total.turns).toBe(0);
  });
});
