import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { toCohereMessages } from '../../src/llm/cohere-messages.js';
import { CohereProvider } from '../../src/llm/cohere-provider.js';
import type { LlmRequest } from '../../src/llm/llm-provider.js';
import type { LlmProviderRuntimeOptions } from '../../src/llm/provider-http.js';
import { startFakeCohere } from '../fixtures/fake-cohere-server.js';
import type { FakeLlmServer } from '../fixtures/fake-llm-common.js';
import { collect, collectFailure, expectSecretAbsent, FAST, textOf } from './helpers.js';

const KEY = 'co-test-SECRET-98765';
let fake: FakeLlmServer;
beforeAll(async () => {
  fake = await startFakeCohere();
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => {
  fake.requests.length = 0;
});

const provider = (options: LlmProviderRuntimeOptions = FAST) =>
  new CohereProvider({ baseUrl: fake.url, apiKey: KEY }, options);
const hi: LlmRequest = { model: 'command-a-03-2025', messages: [{ role: 'user', content: 'Hi' }], system: 'Be brief.' };

describe('CohereProvider', () => {
  it('streams text with usage (tokens and cached tokens) and sends the v2 chat request', async () => {
    fake.reply({ kind: 'text', chunks: ['Hel', 'lo'], usage: { input: 1549, output: 95, cached: 1504 } });
    const events = await collect(provider().stream({ ...hi, temperature: 1.5, maxTokens: 64 }));
    expect(textOf(events)).toBe('Hello');
    expect(events.slice(-2)).toEqual([
      { type: 'usage', usage: { inputTokens: 1549, outputTokens: 95, cachedInputTokens: 1504 } },
      { type: 'finish', reason: 'stop' },
    ]);
    const request = fake.requests[0];
    expect(request?.path).toBe('/v2/chat');
    expect(request?.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(request?.body).toEqual({
      model: 'command-a-03-2025',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
      ],
      stream: true,
      temperature: 1,
      max_tokens: 64,
    });
  });

  it('assembles tool calls from tool-call-start/delta/end; the tool plan is reasoning, not answer', async () => {
    fake.reply({
      kind: 'tool_calls',
      text: ['I will use ', 'the weather tool.'],
      calls: [
        { id: 'weather_e8p4pn45zt0t', name: 'weather', arguments: { location: 'San Francisco' }, pieces: 4 },
        { id: 'cityAttractions_pyxs', name: 'cityAttractions', arguments: { city: 'San Francisco' } },
      ],
    });
    const events = await collect(
      provider().stream({ ...hi, tools: [{ name: 'weather', inputSchema: { type: 'object' } }] }),
    );
    expect(textOf(events)).toBe('');
    const plan = events.filter((e) => e.type === 'reasoning').map((e) => (e.type === 'reasoning' ? e.text : ''));
    expect(plan.join('')).toBe('I will use the weather tool.');
    expect(events.filter((e) => e.type === 'tool_call')).toEqual([
      { type: 'tool_call', id: 'weather_e8p4pn45zt0t', name: 'weather', arguments: { location: 'San Francisco' } },
      { type: 'tool_call', id: 'cityAttractions_pyxs', name: 'cityAttractions', arguments: { city: 'San Francisco' } },
    ]);
    expect(events.at(-1)).toEqual({ type: 'finish', reason: 'tool_calls' });
    expect(fake.requests[0]?.body.tools).toEqual([
      { type: 'function', function: { name: 'weather', parameters: { type: 'object' } } },
    ]);
  });

  it('sends tool calls and results in the v2 shapes, which the fake accepts', async () => {
    fake.reply({ kind: 'text', chunks: ['Sunny.'] });
    const events = await collect(
      provider().stream({
        model: 'command-a-03-2025',
        messages: [
          { role: 'user', content: 'Weather?' },
          {
            role: 'assistant',
            content: 'Checking.',
            toolCalls: [{ id: 'weather_1', name: 'weather', arguments: { city: 'Oslo' } }],
          },
          { role: 'tool', toolCallId: 'weather_1', name: 'weather', content: 'boom', isError: true },
        ],
      }),
    );
    expect(textOf(events)).toBe('Sunny.');
    expect(fake.requests[0]?.body.messages.slice(1)).toEqual([
      {
        role: 'assistant',
        tool_plan: 'Checking.',
        tool_calls: [
          { id: 'weather_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Oslo"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'weather_1', content: 'Error: boom' },
    ]);
  });

  it("a round's own tool plan (stored as its reasoning) goes back as the tool_plan", () => {
    const messages = toCohereMessages({
      model: 'command-a-03-2025',
      messages: [
        { role: 'user', content: 'Weather?' },
        {
          role: 'assistant',
          content: '',
          reasoning: 'I will use the weather tool.',
          toolCalls: [{ id: 'w1', name: 'weather', arguments: {} }],
        },
        { role: 'tool', toolCallId: 'w1', name: 'weather', content: 'sunny' },
      ],
    });
    expect(messages[1]).toMatchObject({ role: 'assistant', tool_plan: 'I will use the weather tool.' });
  });

  it('a tool result that answers no call is refused by the fake, as by Cohere → PROVIDER_ERROR with its message', async () => {
    const { error } = await collectFailure(
      provider().stream({
        model: 'command-a-03-2025',
        messages: [
          { role: 'user', content: 'x' },
          { role: 'tool', toolCallId: 'nope', name: 'weather', content: '1' },
        ],
      }),
    );
    expect(error.code).toBe('PROVIDER_ERROR');
    expect(error.message).toContain('does not match any tool call');
  });

  it('401 → PROVIDER_AUTH without the key; an ERROR finish → PROVIDER_ERROR; a cut stream → PROVIDER_ERROR', async () => {
    fake.reply({ kind: 'http_error', status: 401, message: `invalid api token ${KEY}` });
    const auth = await collectFailure(provider().stream(hi));
    expect(auth.error.code).toBe('PROVIDER_AUTH');
    expectSecretAbsent(auth.error, KEY);

    fake.reply({ kind: 'error_event', before: ['Par'], message: 'internal failure' });
    const failed = await collectFailure(provider().stream(hi));
    expect(failed.error.code).toBe('PROVIDER_ERROR');
    expect(textOf(failed.events)).toBe('Par');

    fake.reply({ kind: 'text', chunks: ['a', 'b'], cutAfter: 3 });
    const cut = await collectFailure(provider({ ...FAST, maxRetries: 0 }).stream(hi));
    expect(cut.error.code).toBe('PROVIDER_ERROR');
  });
});
