import { afterEach, describe, expect, it } from 'vitest';
import type { LlmRequest } from '../../src/llm/llm-provider.js';
import { mistralToolCallId } from '../../src/llm/openai-flavors.js';
import { OpenAIProvider } from '../../src/llm/openai-provider.js';
import type { FakeLlmServer } from '../fixtures/fake-llm-common.js';
import { startFakeOpenAI } from '../fixtures/fake-openai-server.js';
import { collect, collectFailure, FAST } from './helpers.js';

let fake: FakeLlmServer | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

// A turn that called a tool on another provider (OpenAI-style id), then asks again.
const afterToolCall: LlmRequest = {
  model: 'm',
  messages: [
    { role: 'user', content: 'add 2 and 3' },
    { role: 'assistant', content: '', toolCalls: [{ id: 'call_abc123XYZ_long', name: 'add', arguments: { a: 2 } }] },
    { role: 'tool', toolCallId: 'call_abc123XYZ_long', name: 'add', content: '5' },
  ],
  tools: [{ name: 'add', inputSchema: { type: 'object' } }],
  maxTokens: 50,
};

describe('Mistral preset', () => {
  it('the fake refuses stream_options and foreign tool call ids, as Mistral does', async () => {
    fake = await startFakeOpenAI({ flavor: 'mistral' });
    const post = (body: unknown) =>
      fetch(`${fake?.url}/chat/completions`, { method: 'POST', body: JSON.stringify(body) }).then((r) => r.status);
    expect(await post({ model: 'm', messages: [], stream_options: { include_usage: true } })).toBe(422);
    expect(
      await post({ model: 'm', messages: [{ role: 'tool', tool_call_id: 'call_1', content: 'x', name: 'add' }] }),
    ).toBe(400);
  });

  it('sends no stream_options, nine-character tool call ids and tool names, and reads the unasked usage', async () => {
    fake = await startFakeOpenAI({
      flavor: 'mistral',
      reply: {
        kind: 'tool_calls',
        calls: [{ name: 'add', arguments: { a: 1, b: 2 } }],
        usage: { input: 7, output: 2 },
      },
    });
    const provider = new OpenAIProvider({ kind: 'mistral', baseUrl: fake.url, apiKey: 'mk' }, FAST);
    const events = await collect(provider.stream(afterToolCall));
    const body = fake.requests[0]?.body;
    expect(body).not.toHaveProperty('stream_options');
    const mapped = mistralToolCallId('call_abc123XYZ_long');
    expect(mapped).toMatch(/^[A-Za-z0-9]{9}$/);
    expect(body.messages[1].tool_calls[0].id).toBe(mapped);
    expect(body.messages[2]).toEqual({ role: 'tool', tool_call_id: mapped, content: '5', name: 'add' });
    expect(events.find((e) => e.type === 'tool_call')).toMatchObject({ name: 'add', arguments: { a: 1, b: 2 } });
    expect(events.find((e) => e.type === 'usage')).toEqual({
      type: 'usage',
      usage: { inputTokens: 7, outputTokens: 2 },
    });
  });

  it("Magistral's thinking content parts are reasoning, its text parts the answer", async () => {
    fake = await startFakeOpenAI({
      flavor: 'mistral',
      reply: { kind: 'text', reasoning: ['The user is asking', ' for 2+2.'], chunks: ['2 + 2 = 4'] },
    });
    const provider = new OpenAIProvider({ kind: 'mistral', baseUrl: fake.url, apiKey: 'mk' }, FAST);
    const events = await collect(provider.stream(afterToolCall));
    expect(events.filter((e) => e.type === 'text')).toEqual([{ type: 'text', text: '2 + 2 = 4' }]);
    const reasoning = events.filter((e) => e.type === 'reasoning').map((e) => (e.type === 'reasoning' ? e.text : ''));
    expect(reasoning.join('')).toBe('The user is asking for 2+2.');
  });

  it('keeps Mistral ids unchanged, and maps the same foreign id the same way every time', () => {
    expect(mistralToolCallId('D681PevKs')).toBe('D681PevKs');
    expect(mistralToolCallId('toolu_01ABC')).toBe(mistralToolCallId('toolu_01ABC'));
    expect(mistralToolCallId('toolu_01ABC')).not.toBe(mistralToolCallId('toolu_01ABD'));
  });

  it('the plain OpenAI kind would be refused by Mistral: the quirks are what make it work', async () => {
    fake = await startFakeOpenAI({ flavor: 'mistral' });
    const provider = new OpenAIProvider({ kind: 'openai_compatible', baseUrl: fake.url }, { ...FAST, maxRetries: 0 });
    const { error } = await collectFailure(provider.stream(afterToolCall));
    expect(error.code).toBe('PROVIDER_ERROR');
    expect(error.details).toMatchObject({ status: 422 });
  });
});

describe('Groq and Together presets', () => {
  it('Groq: usage from x_groq, counted once', async () => {
    fake = await startFakeOpenAI({
      flavor: 'groq',
      reply: { kind: 'text', chunks: ['hi'], usage: { input: 210, output: 15 } },
    });
    const provider = new OpenAIProvider({ kind: 'groq', baseUrl: fake.url, apiKey: 'gsk' }, FAST);
    const events = await collect(provider.stream(afterToolCall));
    expect(fake.requests[0]?.body).not.toHaveProperty('stream_options');
    expect(events.filter((e) => e.type === 'usage')).toEqual([
      { type: 'usage', usage: { inputTokens: 210, outputTokens: 15 } },
    ]);
  });

  it('Together: usage from the finishing chunk; a tool-call turn streams whole', async () => {
    fake = await startFakeOpenAI({
      flavor: 'together',
      reply: {
        kind: 'tool_calls',
        calls: [{ id: 'call_t1', name: 'add', arguments: { a: 1 } }],
        usage: { input: 9, output: 4 },
      },
    });
    const provider = new OpenAIProvider({ kind: 'together', baseUrl: fake.url, apiKey: 'tk' }, FAST);
    const events = await collect(provider.stream(afterToolCall));
    expect(events).toEqual([
      { type: 'tool_call', id: 'call_t1', name: 'add', arguments: { a: 1 } },
      { type: 'usage', usage: { inputTokens: 9, outputTokens: 4 } },
      { type: 'finish', reason: 'tool_calls' },
    ]);
  });

  it('presets need no baseUrl', () => {
    for (const kind of ['mistral', 'groq', 'together'] as const) {
      expect(() => new OpenAIProvider({ kind })).not.toThrow();
    }
    expect(() => new OpenAIProvider({ kind: 'openai_compatible' })).toThrow(/baseUrl/);
  });
});
