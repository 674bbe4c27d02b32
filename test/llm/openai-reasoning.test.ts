import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { arrayHistory } from '../../src/chat/chat-history.js';
import { ChatService } from '../../src/chat/chat-service.js';
import type { LlmRequest } from '../../src/llm/llm-provider.js';
import { isOpenAIReasoningModel } from '../../src/llm/openai-flavors.js';
import { OpenAIProvider } from '../../src/llm/openai-provider.js';
import type { ChatEvent } from '../../src/types.js';
import { functionTools, ok } from '../chat/scripted.js';
import type { FakeLlmServer } from '../fixtures/fake-llm-common.js';
import { startFakeOpenAI } from '../fixtures/fake-openai-server.js';
import { collect, collectFailure, FAST, textOf } from './helpers.js';

const KEY = 'sk-test-reasoning-1';
let fake: FakeLlmServer;

beforeAll(async () => {
  fake = await startFakeOpenAI();
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => {
  fake.requests.length = 0;
  fake.reply({ kind: 'text', chunks: ['Fine.'] });
});

const ask = (model: string): LlmRequest => ({
  model,
  messages: [{ role: 'user', content: 'Hi' }],
  temperature: 0.2,
  maxTokens: 300,
});

describe('OpenAI reasoning models', () => {
  it('the fake refuses max_tokens and a temperature on a reasoning model, as OpenAI does', async () => {
    const post = (body: unknown) =>
      fetch(`${fake.url}/chat/completions`, { method: 'POST', body: JSON.stringify(body) }).then(async (r) => ({
        status: r.status,
        body: (await r.json()) as { error: { code: string } },
      }));
    const base = { model: 'o3-mini', messages: [{ role: 'user', content: 'Hi' }], stream: true };
    expect((await post({ ...base, max_tokens: 10 })).body.error.code).toBe('unsupported_parameter');
    expect((await post({ ...base, temperature: 0.2 })).status).toBe(400);
  });

  it('sends max_completion_tokens and no temperature to o-series and gpt-5 models', async () => {
    const provider = new OpenAIProvider({ kind: 'openai', baseUrl: fake.url, apiKey: KEY }, FAST);
    for (const model of ['o3-mini', 'gpt-5', 'o1']) {
      expect(textOf(await collect(provider.stream(ask(model))))).toBe('Fine.');
    }
    for (const request of fake.requests) {
      expect(request.body.max_completion_tokens).toBe(300);
      expect(request.body).not.toHaveProperty('max_tokens');
      expect(request.body).not.toHaveProperty('temperature');
    }
  });

  it('keeps max_tokens and temperature for chat models', async () => {
    const provider = new OpenAIProvider({ kind: 'openai', baseUrl: fake.url, apiKey: KEY }, FAST);
    await collect(provider.stream(ask('gpt-4o')));
    expect(fake.requests[0]?.body).toMatchObject({ max_tokens: 300, temperature: 0.2 });
    expect(fake.requests[0]?.body).not.toHaveProperty('max_completion_tokens');
  });

  it('reasoningEffort is sent and marks the model as a reasoning model (an Azure deployment name says nothing)', async () => {
    const provider = new OpenAIProvider({ kind: 'openai_compatible', baseUrl: fake.url, reasoningEffort: 'low' }, FAST);
    await collect(provider.stream(ask('my-deployment')));
    expect(fake.requests[0]?.body).toMatchObject({ reasoning_effort: 'low', max_completion_tokens: 300 });
    expect(fake.requests[0]?.body).not.toHaveProperty('temperature');
  });

  it('reasoningModel: false overrides detection; the refusal then surfaces as a redacted PROVIDER_ERROR', async () => {
    const provider = new OpenAIProvider(
      { kind: 'openai', baseUrl: fake.url, apiKey: KEY, reasoningModel: false },
      { ...FAST, maxRetries: 0 },
    );
    const { error } = await collectFailure(provider.stream(ask('o3')));
    expect(error.code).toBe('PROVIDER_ERROR');
    expect(error.message).toContain("Use 'max_completion_tokens' instead");
  });

  it('detects the reasoning families by name, and only them', () => {
    const yes = ['o1', 'o1-mini', 'o3', 'o3-mini-2025-01-31', 'o4-mini', 'gpt-5', 'gpt-5-mini', 'gpt-5.1', 'openai/o3'];
    const no = [
      'gpt-4o',
      'gpt-4.1-mini',
      'gpt-5-chat-latest',
      'gpt-5.1-chat',
      'omni-moderation',
      'llama3.1',
      'gpt-oss-20b',
    ];
    expect(yes.filter((model) => !isOpenAIReasoningModel(model))).toEqual([]);
    expect(no.filter((model) => isOpenAIReasoningModel(model))).toEqual([]);
  });

  it('reasoning_content (DeepSeek, vLLM) and reasoning (Ollama) stay out of the answer text', async () => {
    fake.reply({ kind: 'text', reasoning: ['Let me ', 'think.'], chunks: ['The answer', ' is 4.'] });
    const provider = new OpenAIProvider({ kind: 'ollama', baseUrl: fake.url }, FAST);
    const events = await collect(provider.stream(ask('deepseek-r1')));
    expect(textOf(events)).toBe('The answer is 4.');
    const reasoning = events.filter((e) => e.type === 'reasoning').map((e) => (e.type === 'reasoning' ? e.text : ''));
    expect(reasoning.join('')).toBe('Let me think.');
    // Not a reasoning model by name: Ollama's temperature is kept.
    expect(fake.requests[0]?.body.temperature).toBe(0.2);
  });

  it("DeepSeek's thinking mode gets a tool round's reasoning_content back; the fake refuses a request without it", async () => {
    const deepseek = await startFakeOpenAI({
      flavor: 'deepseek',
      reply: (request) =>
        request.body.messages.at(-1).role === 'tool'
          ? { kind: 'text', reasoning: ['Got 5.'], chunks: ['It is 5.'] }
          : {
              kind: 'tool_calls',
              reasoning: ['Need ', 'the tool.'],
              calls: [{ name: 'add', arguments: { a: 2, b: 3 } }],
            },
    });
    try {
      const provider = new OpenAIProvider({ kind: 'openai_compatible', baseUrl: deepseek.url }, FAST);
      const chat = new ChatService({
        provider,
        model: 'deepseek-v4-flash',
        tools: functionTools({ add: async () => ok('5') }),
      });
      const history = arrayHistory();
      const events: ChatEvent[] = [];
      for await (const event of chat.chat('add 2 and 3', { history })) events.push(event);
      expect(events.at(-1)).toMatchObject({ type: 'final', content: 'It is 5.' });
      expect(deepseek.requests[1]?.body.messages[1]).toMatchObject({
        role: 'assistant',
        reasoning_content: 'Need the tool.',
      });
      // Stored with the round, not in the answer; a round without tool calls keeps none.
      const stored = history.messages.filter((m) => m.role === 'assistant');
      expect(stored.map((m) => (m.role === 'assistant' ? m.reasoning : undefined))).toEqual([
        'Need the tool.',
        undefined,
      ]);

      // Mistral, Groq and the other strict servers are never sent the field.
      const mistral = new OpenAIProvider({ kind: 'mistral', baseUrl: deepseek.url }, { ...FAST, maxRetries: 0 });
      const request = { model: 'm', messages: history.messages, maxTokens: 10 };
      const { error } = await collectFailure(mistral.stream(request));
      expect(error.message).toContain('reasoning_content in the thinking mode must be passed back');
    } finally {
      await deepseek.close();
    }
  });

  it('reports cached prompt tokens from prompt_tokens_details', async () => {
    fake.reply({ kind: 'text', chunks: ['ok'], usage: { input: 2000, output: 3, cached: 1536 } });
    const provider = new OpenAIProvider({ kind: 'openai', baseUrl: fake.url, apiKey: KEY }, FAST);
    const events = await collect(provider.stream(ask('gpt-4o')));
    expect(events.find((e) => e.type === 'usage')).toEqual({
      type: 'usage',
      usage: { inputTokens: 2000, outputTokens: 3, cachedInputTokens: 1536 },
    });
  });
});
