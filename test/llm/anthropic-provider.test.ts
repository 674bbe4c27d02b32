import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AnthropicProvider } from '../../src/llm/anthropic-provider.js';
import type { LlmRequest } from '../../src/llm/llm-provider.js';
import { startFakeAnthropic } from '../fixtures/fake-anthropic-server.js';
import type { FakeLlmServer } from '../fixtures/fake-llm-common.js';
import { collect, collectFailure, FAST, textOf } from './helpers.js';

const KEY = 'sk-ant-test-SECRET-123';
let fake: FakeLlmServer;

beforeAll(async () => {
  fake = await startFakeAnthropic();
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => {
  fake.requests.length = 0;
  fake.reply({ kind: 'text', chunks: ['Hello', ' from', ' the fake.'] });
});

function provider() {
  return new AnthropicProvider({ baseUrl: fake.url, apiKey: KEY }, FAST);
}

const hi: LlmRequest = { model: 'claude-test', messages: [{ role: 'user', content: 'Hi' }] };
/** The tools of the transcript below: a request with tool exchanges must define tools. */
const LOOKUP_TOOLS = [
  { name: 'screenshot', inputSchema: { type: 'object' } },
  { name: 'weather', inputSchema: { type: 'object' } },
];

describe('AnthropicProvider streaming', () => {
  it('streams text, then usage and finish, and sends the Messages API request', async () => {
    fake.reply({ kind: 'text', chunks: ['Bon', 'jour'], usage: { input: 21, output: 4 } });
    const events = await collect(provider().stream({ ...hi, system: 'Be brief.', temperature: 1.7 }));
    // Deltas that arrive in one network chunk are joined into one text event.
    const texts = events.filter((event) => event.type === 'text');
    expect(textOf(events)).toBe('Bonjour');
    expect(events.slice(texts.length)).toEqual([
      { type: 'usage', usage: { inputTokens: 21, outputTokens: 4, cachedInputTokens: 0, cacheWriteInputTokens: 0 } },
      { type: 'finish', reason: 'stop' },
    ]);
    const [request] = fake.requests;
    expect(request?.path).toBe('/v1/messages');
    expect(request?.headers['x-api-key']).toBe(KEY);
    expect(request?.headers['anthropic-version']).toBe('2023-06-01');
    expect(request?.headers.authorization).toBeUndefined();
    expect(request?.body).toEqual({
      model: 'claude-test',
      max_tokens: 4096,
      // Prompt caching is on by default: breakpoints on the system prompt and the last message.
      system: [{ type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral' } }],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi', cache_control: { type: 'ephemeral' } }] }],
      stream: true,
      // Anthropic's range is 0..1.
      temperature: 1,
    });
  });

  it('assembles tool_use input from input_json_delta pieces, with text before it', async () => {
    fake.reply({
      kind: 'tool_calls',
      text: ['Checking.'],
      calls: [{ id: 'toolu_A', name: 'get_weather', arguments: { city: 'Rome', days: 3 }, pieces: 6 }],
    });
    const events = await collect(
      provider().stream({
        ...hi,
        maxTokens: 100,
        tools: [{ name: 'get_weather', description: 'Weather', inputSchema: { type: 'object' } }],
      }),
    );
    expect(events).toEqual([
      { type: 'text', text: 'Checking.' },
      { type: 'tool_call', id: 'toolu_A', name: 'get_weather', arguments: { city: 'Rome', days: 3 } },
      { type: 'usage', usage: { inputTokens: 10, outputTokens: 5, cachedInputTokens: 0, cacheWriteInputTokens: 0 } },
      { type: 'finish', reason: 'tool_calls' },
    ]);
    expect(fake.requests[0]?.body.tools).toEqual([
      {
        name: 'get_weather',
        description: 'Weather',
        input_schema: { type: 'object' },
        cache_control: { type: 'ephemeral' },
      },
    ]);
    expect(fake.requests[0]?.body.max_tokens).toBe(100);
  });

  it('emits parallel tool calls in order, empty input as {}', async () => {
    fake.reply({
      kind: 'tool_calls',
      calls: [
        { id: 'toolu_1', name: 'a', arguments: { n: 1 } },
        { id: 'toolu_2', name: 'b', arguments: '' },
      ],
    });
    const events = await collect(provider().stream(hi));
    expect(events.filter((e) => e.type === 'tool_call')).toEqual([
      { type: 'tool_call', id: 'toolu_1', name: 'a', arguments: { n: 1 } },
      { type: 'tool_call', id: 'toolu_2', name: 'b', arguments: {} },
    ]);
  });

  it('maps stop reasons', async () => {
    for (const [sent, expected] of [
      ['max_tokens', 'length'],
      ['stop_sequence', 'stop'],
      ['refusal', 'content_filter'],
      ['pause_turn', 'other'],
    ] as const) {
      fake.reply({ kind: 'text', chunks: ['x'], finishReason: sent });
      expect((await collect(provider().stream(hi))).at(-1)).toEqual({ type: 'finish', reason: expected });
    }
  });

  it('an overloaded error event before any output is retried', async () => {
    fake.reply([{ kind: 'error_event' }, { kind: 'text', chunks: ['second try'] }]);
    expect(textOf(await collect(provider().stream(hi)))).toBe('second try');
    expect(fake.requests).toHaveLength(2);
  });

  it('an error event after output → PROVIDER_ERROR, not retried', async () => {
    fake.reply({ kind: 'error_event', before: ['partial'], errorType: 'overloaded_error', message: 'Overloaded' });
    const { events, error } = await collectFailure(provider().stream(hi));
    expect(textOf(events)).toBe('partial');
    expect(error.code).toBe('PROVIDER_ERROR');
    expect(error.message).toContain('Overloaded');
    expect(fake.requests).toHaveLength(1);
  });

  it('a non-retryable error event → PROVIDER_ERROR at once', async () => {
    fake.reply({ kind: 'error_event', errorType: 'invalid_request_error', message: 'bad' });
    const { error } = await collectFailure(provider().stream(hi));
    expect(error.code).toBe('PROVIDER_ERROR');
    expect(fake.requests).toHaveLength(1);
  });

  it('a stream that ends before message_stop → PROVIDER_ERROR', async () => {
    const frame = (type: string, data: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
    fake.reply({
      kind: 'raw',
      frames: [
        frame('message_start', { message: { usage: { input_tokens: 1, output_tokens: 1 } } }),
        frame('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
        frame('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'half' } }),
      ],
    });
    const { events, error } = await collectFailure(provider().stream(hi));
    expect(textOf(events)).toBe('half');
    expect(error.code).toBe('PROVIDER_ERROR');
  });
});

describe('Anthropic transcript mapping', () => {
  const transcript: LlmRequest['messages'] = [
    { role: 'user', content: 'Look and check' },
    {
      role: 'assistant',
      content: 'Sure.',
      toolCalls: [
        { id: 'toolu_1', name: 'screenshot', arguments: {} },
        { id: 'toolu_2', name: 'weather', arguments: { city: 'Oslo' } },
      ],
    },
    {
      role: 'tool',
      toolCallId: 'toolu_1',
      name: 'screenshot',
      content: 'captured',
      images: [{ data: 'QUJD', mimeType: 'image/png' }],
    },
    { role: 'tool', toolCallId: 'toolu_2', name: 'weather', content: 'boom', isError: true },
    { role: 'assistant', content: '', interrupted: true },
    { role: 'user', content: 'Again?' },
  ];

  it('merges consecutive tool results into one user message with image blocks (vision on)', async () => {
    await collect(provider().stream({ model: 'claude-test', messages: transcript, vision: true, tools: LOOKUP_TOOLS }));
    expect(fake.requests[0]?.body.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Look and check' }] },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Sure.' },
          { type: 'tool_use', id: 'toolu_1', name: 'screenshot', input: {} },
          { type: 'tool_use', id: 'toolu_2', name: 'weather', input: { city: 'Oslo' } },
        ],
      },
      {
        role: 'user',
        content: [
          {
            type: 'tool_result',
            tool_use_id: 'toolu_1',
            content: [
              { type: 'text', text: 'captured' },
              { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'QUJD' } },
            ],
          },
          { type: 'tool_result', tool_use_id: 'toolu_2', content: 'boom', is_error: true },
          // The empty interrupted assistant turn is dropped, so this merges too.
          { type: 'text', text: 'Again?', cache_control: { type: 'ephemeral' } },
        ],
      },
    ]);
  });

  it('replaces images with a note when vision is off', async () => {
    await collect(provider().stream({ model: 'claude-test', messages: transcript, tools: LOOKUP_TOOLS }));
    const body = JSON.stringify(fake.requests[0]?.body);
    expect(body).not.toContain('QUJD');
    expect(fake.requests[0]?.body.messages[2].content[0]).toEqual({
      type: 'tool_result',
      tool_use_id: 'toolu_1',
      content: expect.stringMatching(/^captured\n\[The tool returned 1 image,/),
    });
  });
});
