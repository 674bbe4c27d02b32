import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toAnthropicMessages } from '../../src/llm/anthropic-messages.js';
import { AnthropicProvider } from '../../src/llm/anthropic-provider.js';
import { toBedrockMessages } from '../../src/llm/bedrock-messages.js';
import { BedrockProvider } from '../../src/llm/bedrock-provider.js';
import type { LlmRequest } from '../../src/llm/llm-provider.js';
import type { TranscriptMessage } from '../../src/types.js';
import { startFakeAnthropic } from '../fixtures/fake-anthropic-server.js';
import { FAKE_AWS_CREDENTIALS, startFakeBedrock } from '../fixtures/fake-bedrock-server.js';
import type { FakeLlmServer } from '../fixtures/fake-llm-common.js';
import { collect, FAST, textOf } from './helpers.js';

// A history an OpenAI-compatible server (Kimi K2 style ids, a made-up tool name) left behind.
const foreign: TranscriptMessage[] = [
  { role: 'user', content: 'q' },
  {
    role: 'assistant',
    content: '',
    toolCalls: [
      { id: 'functions.search:0', name: 'multi_tool_use.parallel', arguments: {} },
      { id: 'functions.search|0', name: 'search', arguments: {} },
    ],
  },
  { role: 'tool', toolCallId: 'functions.search:0', name: 'multi_tool_use.parallel', content: 'Unknown tool' },
  { role: 'tool', toolCallId: 'functions.search|0', name: 'search', content: 'found' },
  { role: 'assistant', content: 'ok' },
  { role: 'user', content: 'again' },
];
const SAFE = /^[a-zA-Z0-9_-]{1,64}$/;

describe('Anthropic and Bedrock tool ids and names from another model', () => {
  it('are mapped deterministically into the pattern; valid ones stay; distinct ids stay distinct', () => {
    const ids = [
      'toolu_01A-b',
      'functions.search:0',
      'functions.search|0',
      'functions_search_0',
      '',
      'x'.repeat(100),
      'é',
    ];
    const transcript: TranscriptMessage[] = [
      { role: 'user', content: 'q' },
      {
        role: 'assistant',
        content: '',
        toolCalls: ids.map((id, n) => ({
          id,
          name: ['get_weather', 'multi_tool_use.parallel', '', 'n'.repeat(80)][n % 4] as string,
          arguments: {},
        })),
      },
      ...ids.map((id): TranscriptMessage => ({ role: 'tool', toolCallId: id, name: 't', content: 'r' })),
    ];
    for (const build of [
      () =>
        toAnthropicMessages(transcript)[1]?.content.map((block) =>
          block.type === 'tool_use' ? [block.id, block.name] : [],
        ),
      () =>
        toBedrockMessages(transcript)[1]?.content.map((block) =>
          'toolUse' in block ? [block.toolUse.toolUseId, block.toolUse.name] : [],
        ),
    ]) {
      const pairs = build() ?? [];
      const mapped = pairs.map((pair) => pair[0]);
      for (const [id, name] of pairs) {
        expect(id).toMatch(SAFE);
        expect(name).toMatch(SAFE);
      }
      expect(mapped[0]).toBe('toolu_01A-b');
      expect(pairs[0]?.[1]).toBe('get_weather');
      expect(pairs[1]?.[1]).toBe('multi_tool_use_parallel');
      expect(new Set(mapped).size).toBe(ids.length);
      expect(build()).toEqual(pairs);
    }
  });
});

describe('a history with foreign tool ids and names', () => {
  it('Anthropic: the call and its result get the same valid id; the name is valid', () => {
    const [, calls, results] = toAnthropicMessages(foreign);
    const uses = calls?.content.filter((block) => block.type === 'tool_use') ?? [];
    const answered = results?.content.map((block) => (block.type === 'tool_result' ? block.tool_use_id : '')) ?? [];
    expect(uses.map((use) => use.type === 'tool_use' && use.id)).toEqual(answered);
    for (const use of uses) {
      if (use.type !== 'tool_use') continue;
      expect(use.id).toMatch(SAFE);
      expect(use.name).toMatch(SAFE);
    }
    expect(new Set(answered).size).toBe(2);
  });

  it('Bedrock: the same', () => {
    const [, calls, results] = toBedrockMessages(foreign);
    const uses = calls?.content.flatMap((block) => ('toolUse' in block ? [block.toolUse] : [])) ?? [];
    const answered = results?.content.flatMap((block) => ('toolResult' in block ? [block.toolResult.toolUseId] : []));
    expect(uses.map((use) => use.toolUseId)).toEqual(answered);
    for (const use of uses) {
      expect(use.toolUseId).toMatch(SAFE);
      expect(use.name).toMatch(SAFE);
    }
  });
});

describe('the fakes, which refuse such ids and names as the APIs do, accept the request', () => {
  let anthropic: FakeLlmServer;
  let bedrock: FakeLlmServer;
  beforeAll(async () => {
    anthropic = await startFakeAnthropic({ reply: { kind: 'text', chunks: ['fine'] } });
    bedrock = await startFakeBedrock({ reply: { kind: 'text', chunks: ['fine'] } });
  });
  afterAll(async () => {
    await Promise.all([anthropic.close(), bedrock.close()]);
  });
  const tools = [{ name: 'search', inputSchema: { type: 'object' } }];
  const request: LlmRequest = { model: 'm', messages: foreign, tools };

  it('Anthropic', async () => {
    const provider = new AnthropicProvider({ baseUrl: anthropic.url, apiKey: 'k' }, { ...FAST, maxRetries: 0 });
    expect(textOf(await collect(provider.stream(request)))).toBe('fine');
  });

  it('Bedrock', async () => {
    const provider = new BedrockProvider(
      { region: 'us-east-1', credentials: FAKE_AWS_CREDENTIALS, baseUrl: bedrock.url },
      { ...FAST, maxRetries: 0 },
    );
    expect(textOf(await collect(provider.stream(request)))).toBe('fine');
  });
});
