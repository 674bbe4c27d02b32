import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { arrayHistory } from '../../src/chat/chat-history.js';
import { ChatService } from '../../src/chat/chat-service.js';
import { AnthropicProvider } from '../../src/llm/anthropic-provider.js';
import type { ChatEvent, ToolSpec } from '../../src/types.js';
import { functionTools, ok } from '../chat/scripted.js';
import { fakeThinkingSignature, startFakeAnthropic } from '../fixtures/fake-anthropic-server.js';
import type { FakeLlmServer, FakeReply, RecordedRequest } from '../fixtures/fake-llm-common.js';
import { collect, FAST, textOf } from './helpers.js';

let fake: FakeLlmServer;
beforeAll(async () => {
  fake = await startFakeAnthropic();
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => {
  fake.requests.length = 0;
});

/** Calls `add` first, answers once the tool result is in; thinks before both. */
function thinkingReplies(redacted = false) {
  return (request: RecordedRequest): FakeReply => {
    const last = request.body.messages.at(-1);
    if (last.content.some((block: { type: string }) => block.type === 'tool_result')) {
      return { kind: 'text', reasoning: ['It is 5.'], chunks: ['The sum', ' is 5.'] };
    }
    return {
      kind: 'tool_calls',
      reasoning: ['I should ', 'add them.'],
      redacted,
      text: ['Adding.'],
      calls: [{ id: 'toolu_1', name: 'add', arguments: { a: 2, b: 3 } }],
    };
  };
}

function service(options: { emitReasoning?: boolean; thinking?: boolean } = {}) {
  const provider = new AnthropicProvider(
    {
      baseUrl: fake.url,
      apiKey: 'sk-ant-test',
      ...(options.thinking === false ? {} : { thinkingBudgetTokens: 2048 }),
      temperature: 0.5,
    },
    { ...FAST, maxRetries: 0 },
  );
  const tools = functionTools({ add: async () => ok('5') });
  return new ChatService({
    provider,
    model: 'claude-sonnet-4-5',
    tools,
    ...(options.emitReasoning === undefined ? {} : { emitReasoning: options.emitReasoning }),
  });
}

async function turn(chat: ChatService, history = arrayHistory()) {
  const events: ChatEvent[] = [];
  for await (const event of chat.chat('add 2 and 3', { history })) events.push(event);
  return { events, history };
}

describe('Anthropic extended thinking', () => {
  it('the fake refuses a tool-result turn whose assistant message lost its thinking, as the API does', async () => {
    const response = await fetch(`${fake.url}/v1/messages`, {
      method: 'POST',
      body: JSON.stringify({
        model: 'claude-sonnet-4-5',
        max_tokens: 4096,
        thinking: { type: 'enabled', budget_tokens: 2048 },
        tools: [{ name: 'add', input_schema: { type: 'object' } }],
        messages: [
          { role: 'user', content: 'add 2 and 3' },
          { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'add', input: {} }] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: '5' }] },
        ],
      }),
    });
    expect(response.status).toBe(400);
    expect(JSON.stringify(await response.json())).toContain('Expected `thinking` or `redacted_thinking`');
  });

  it('sends the signed thinking back first with the tool results; a tool-using turn completes', async () => {
    fake.reply(thinkingReplies());
    const { events, history } = await turn(service());
    expect(events.at(-1)).toMatchObject({ type: 'final', content: 'Adding.The sum is 5.', tools: ['add'] });

    const [first, second] = fake.requests;
    expect(first?.body.thinking).toEqual({ type: 'enabled', budget_tokens: 2048 });
    // The API refuses a temperature with thinking on, and wants max_tokens above the budget.
    expect(first?.body).not.toHaveProperty('temperature');
    expect(first?.body.max_tokens).toBeGreaterThan(2048);
    const assistant = second?.body.messages[1];
    expect(assistant.content[0]).toEqual({
      type: 'thinking',
      thinking: 'I should add them.',
      signature: fakeThinkingSignature('I should add them.'),
    });
    expect(assistant.content.map((block: { type: string }) => block.type)).toEqual(['thinking', 'text', 'tool_use']);

    // Kept in the stored turn, never in the answer or a token event.
    const stored = history.messages.filter((m) => m.role === 'assistant');
    expect(stored[0]?.thinking).toEqual([assistant.content[0]]);
    expect(stored[1]?.thinking?.[0]).toMatchObject({ type: 'thinking', thinking: 'It is 5.' });
    const tokens = events.filter((e) => e.type === 'token').map((e) => (e.type === 'token' ? e.content : ''));
    expect(tokens.join('')).toBe('Adding.The sum is 5.');
    expect(events.some((e) => e.type === 'reasoning')).toBe(false);
  });

  it('round-trips redacted_thinking blocks unchanged', async () => {
    fake.reply(thinkingReplies(true));
    const { events } = await turn(service());
    expect(events.at(-1)).toMatchObject({ type: 'final' });
    const block = fake.requests[1]?.body.messages[1].content[0];
    expect(block).toEqual({
      type: 'redacted_thinking',
      data: `fake-redacted:${fakeThinkingSignature('I should add them.')}`,
    });
  });

  it('a later turn with thinking sends the stored blocks back as they were (signatures still verify)', async () => {
    fake.reply(thinkingReplies());
    const { history } = await turn(service());
    fake.requests.length = 0;
    const { events } = await turn(service(), history);
    expect(events.at(-1)).toMatchObject({ type: 'final' });
    const sentBack = fake.requests[0]?.body.messages[1].content[0];
    expect(sentBack.signature).toBe(fakeThinkingSignature('I should add them.'));
  });

  it('emits reasoning events only when asked, and they never reach the answer', async () => {
    fake.reply(thinkingReplies());
    const { events } = await turn(service({ emitReasoning: true }));
    const reasoning = events
      .filter((e) => e.type === 'reasoning')
      .map((e) => (e.type === 'reasoning' ? e.content : ''));
    expect(reasoning.join('')).toBe('I should add them.It is 5.');
    expect(events.at(-1)).toMatchObject({ type: 'final', content: 'Adding.The sum is 5.' });
  });

  it('without thinking enabled the stored blocks are not sent (a model switch cannot break the request)', async () => {
    fake.reply(thinkingReplies());
    const { history } = await turn(service());
    fake.requests.length = 0;
    fake.reply({ kind: 'text', chunks: ['Plain.'] });
    await turn(service({ thinking: false }), history);
    const body = JSON.stringify(fake.requests[0]?.body.messages);
    expect(body).not.toContain('"type":"thinking"');
    expect(fake.requests[0]?.body.temperature).toBe(0.5);
  });
});

describe('Anthropic prompt caching', () => {
  const toolsInOrder = (names: string[]): ToolSpec[] =>
    names.map((name) => ({ name, description: `${name} tool`, inputSchema: { type: 'object' } }));

  it('marks the system prompt, the tool list and the last message; tools are byte-stable in any order', async () => {
    fake.reply({ kind: 'text', chunks: ['ok'] });
    const provider = new AnthropicProvider({ baseUrl: fake.url, apiKey: 'k' }, FAST);
    const messages = [{ role: 'user' as const, content: 'Hi' }];
    await collect(provider.stream({ model: 'c', system: 'S', messages, tools: toolsInOrder(['b', 'c', 'a']) }));
    await collect(provider.stream({ model: 'c', system: 'S', messages, tools: toolsInOrder(['c', 'a', 'b']) }));
    const [one, two] = fake.requests.map((request) => request.body);
    expect(JSON.stringify(one.tools)).toBe(JSON.stringify(two.tools));
    expect(one.tools.map((tool: { name: string }) => tool.name)).toEqual(['a', 'b', 'c']);
    expect(one.tools.map((tool: { cache_control?: unknown }) => tool.cache_control)).toEqual([
      undefined,
      undefined,
      { type: 'ephemeral' },
    ]);
    expect(one.system).toEqual([{ type: 'text', text: 'S', cache_control: { type: 'ephemeral' } }]);
    expect(one.messages.at(-1).content.at(-1).cache_control).toEqual({ type: 'ephemeral' });
  });

  it('keeps within four breakpoints through a thinking tool loop (the fake refuses five)', async () => {
    fake.reply(thinkingReplies());
    const { events } = await turn(service());
    expect(events.at(-1)).toMatchObject({ type: 'final' });
    const second = JSON.stringify(fake.requests[1]?.body);
    expect(second.split('cache_control').length - 1).toBeLessThanOrEqual(4);
  });

  it('promptCaching: false sends no breakpoints', async () => {
    fake.reply({ kind: 'text', chunks: ['ok'] });
    const provider = new AnthropicProvider({ baseUrl: fake.url, promptCaching: false }, FAST);
    await collect(
      provider.stream({
        model: 'c',
        system: 'S',
        messages: [{ role: 'user', content: 'Hi' }],
        tools: toolsInOrder(['a']),
      }),
    );
    expect(fake.requests[0]?.rawBody).not.toContain('cache_control');
    expect(fake.requests[0]?.body.system).toBe('S');
  });

  it('reports cache reads and writes, and the turn total in final', async () => {
    fake.reply({ kind: 'text', chunks: ['ok'], usage: { input: 3000, output: 7, cached: 2500, cacheWrite: 400 } });
    const provider = new AnthropicProvider({ baseUrl: fake.url }, FAST);
    const events = await collect(provider.stream({ model: 'c', messages: [{ role: 'user', content: 'Hi' }] }));
    expect(textOf(events)).toBe('ok');
    expect(events.find((e) => e.type === 'usage')).toEqual({
      type: 'usage',
      usage: { inputTokens: 3000, outputTokens: 7, cachedInputTokens: 2500, cacheWriteInputTokens: 400 },
    });
    const chat = new ChatService({ provider, model: 'c', tools: functionTools({}) });
    const final = (await turn(chat)).events.at(-1);
    expect(final).toMatchObject({
      type: 'final',
      usage: { input_tokens: 3000, output_tokens: 7, cached_input_tokens: 2500, cache_creation_input_tokens: 400 },
    });
  });
});
