import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { arrayHistory } from '../../src/chat/chat-history.js';
import { ChatService } from '../../src/chat/chat-service.js';
import { toAnthropicMessages } from '../../src/llm/anthropic-messages.js';
import { AnthropicProvider } from '../../src/llm/anthropic-provider.js';
import { toBedrockMessages } from '../../src/llm/bedrock-messages.js';
import { toCohereMessages } from '../../src/llm/cohere-messages.js';
import { toGeminiContents } from '../../src/llm/google-messages.js';
import { geminiRequestBody, geminiToolCache } from '../../src/llm/google-request.js';
import { toOpenAIMessages } from '../../src/llm/openai-messages.js';
import { wellFormedMessages } from '../../src/llm/well-formed-messages.js';
import { toToolResult } from '../../src/mcp/tool-result.js';
import type { TranscriptMessage } from '../../src/types.js';
import { functionTools } from '../chat/scripted.js';
import { startFakeAnthropic } from '../fixtures/fake-anthropic-server.js';
import type { FakeLlmServer } from '../fixtures/fake-llm-common.js';
import { FAST } from './helpers.js';

const HIGH = '\ud83d';
const LOW = '\ude00';
const LONE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

// A history as an older version stored it: lone surrogates in every kind of text.
const poisoned: TranscriptMessage[] = [
  { role: 'user', content: `party ${HIGH}` },
  {
    role: 'assistant',
    content: `cut ${HIGH}`,
    reasoning: `thought ${LOW}`,
    toolCalls: [{ id: 'toolu_1', name: 'read', arguments: { title: `a ${HIGH}`, list: [LOW] } }],
  },
  { role: 'tool', toolCallId: 'toolu_1', name: 'read', content: `title: ${HIGH}` },
  { role: 'assistant', content: `done ${LOW}` },
  { role: 'user', content: 'next 😀' },
];

function stringsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (typeof value !== 'object' || value === null) return [];
  return Object.values(value).flatMap(stringsOf);
}

describe('every message builder sends well-formed text', () => {
  const bodies: Record<string, unknown> = {
    anthropic: toAnthropicMessages(poisoned),
    bedrock: toBedrockMessages(poisoned),
    gemini: toGeminiContents(poisoned),
    openai: toOpenAIMessages({ model: 'm', system: `sys ${HIGH}`, messages: poisoned }, { reasoningContent: true }),
    cohere: toCohereMessages({ model: 'm', system: `sys ${HIGH}`, messages: poisoned }),
  };
  for (const [name, body] of Object.entries(bodies)) {
    it(`${name}: no lone surrogate left, the rest of the text kept`, () => {
      const strings = stringsOf(body);
      expect(strings.filter((text) => LONE.test(text))).toEqual([]);
      expect(strings.some((text) => text.includes('\ufffd'))).toBe(true);
      expect(strings).toContain('next 😀');
    });
  }

  it('gemini: the request body (system instruction included) holds no lone surrogate escape', () => {
    const body = geminiRequestBody({ model: 'm', system: `sys ${HIGH}`, messages: poisoned }, {}, geminiToolCache());
    expect(body).not.toMatch(/\\ud[89a-f]/i);
  });

  it('returns the same transcript, not a copy, when nothing needs cleaning', () => {
    const clean: TranscriptMessage[] = [
      { role: 'user', content: 'hi 😀' },
      { role: 'assistant', content: 'yo', toolCalls: [{ id: 'a', name: 'b', arguments: { c: ['d'] } }] },
      { role: 'tool', toolCallId: 'a', name: 'b', content: 'e' },
    ];
    expect(wellFormedMessages(clean)).toBe(clean);
  });

  it('rebuilds only the messages that need it and leaves the input unchanged', () => {
    const copy = structuredClone(poisoned);
    const fixed = wellFormedMessages(poisoned);
    expect(poisoned).toEqual(copy);
    expect(fixed[4]).toBe(poisoned[4]);
    expect(fixed[1]).toMatchObject({
      content: 'cut \ufffd',
      reasoning: 'thought \ufffd',
      toolCalls: [{ id: 'toolu_1', name: 'read', arguments: { title: 'a \ufffd', list: ['\ufffd'] } }],
    });
  });
});

describe('Anthropic with lone surrogates (the fake refuses them as the API does)', () => {
  let fake: FakeLlmServer;
  beforeAll(async () => {
    fake = await startFakeAnthropic();
  });
  afterAll(async () => {
    await fake.close();
  });

  it('a later turn over a history that holds lone surrogates is accepted', async () => {
    fake.reply({ kind: 'text', chunks: ['ok'] });
    const provider = new AnthropicProvider({ baseUrl: fake.url, apiKey: 'k' }, { ...FAST, maxRetries: 0 });
    const chat = new ChatService({ provider, model: 'claude', tools: functionTools({}), systemPrompt: `sys ${HIGH}` });
    const history = arrayHistory(poisoned.slice(0, 4));
    const events = [];
    for await (const event of chat.chat('again', { history })) events.push(event);
    expect(events.at(-1)).toMatchObject({ type: 'final', content: 'ok' });
  });

  it('a tool result cut inside an emoji does not poison the next round', async () => {
    let round = 0;
    fake.reply(() =>
      round++ === 0
        ? { kind: 'tool_calls', calls: [{ id: 'toolu_9', name: 'read', arguments: {} }] }
        : { kind: 'text', chunks: ['read it'] },
    );
    const answer = JSON.parse('{"content":[{"type":"text","text":"title: Party \\ud83d"}]}');
    const provider = new AnthropicProvider({ baseUrl: fake.url, apiKey: 'k' }, { ...FAST, maxRetries: 0 });
    const chat = new ChatService({
      provider,
      model: 'claude',
      tools: functionTools({ read: async () => toToolResult(answer) }),
    });
    const history = arrayHistory();
    const events = [];
    for await (const event of chat.chat('read it', { history })) events.push(event);
    expect(events.at(-1)).toMatchObject({ type: 'final', content: 'read it' });
    expect(history.messages[2]).toMatchObject({ role: 'tool', content: 'title: Party \ufffd' });
  });
});
