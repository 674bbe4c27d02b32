import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isLlmChatError } from '../../src/errors.js';
import type { LlmRequest } from '../../src/llm/llm-provider.js';
import { OpenAIProvider } from '../../src/llm/openai-provider.js';
import type { FakeLlmServer } from '../fixtures/fake-openai-server.js';
import { startFakeOpenAI } from '../fixtures/fake-openai-server.js';
import { collect, collectFailure, FAST, textOf } from './helpers.js';

const KEY = 'sk-test-SECRET-123';
let fake: FakeLlmServer;

beforeAll(async () => {
  fake = await startFakeOpenAI();
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => {
  fake.requests.length = 0;
  fake.reply({ kind: 'text', chunks: ['Hello', ' from', ' the fake.'] });
});

function provider() {
  return new OpenAIProvider({ kind: 'openai', baseUrl: fake.url, apiKey: KEY }, FAST);
}

const hi: LlmRequest = { model: 'gpt-test', messages: [{ role: 'user', content: 'Hi' }] };

describe('OpenAIProvider streaming', () => {
  it('joins the text deltas of one network chunk, and keeps chunks that arrive apart apart', async () => {
    // One raw frame list sent in a single write: every delta arrives in the same chunk.
    const delta = (content: string) =>
      `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;
    const finish = `data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`;
    fake.reply({ kind: 'raw', frames: [[delta('a'), delta('b'), delta('c'), finish, 'data: [DONE]\n\n'].join('')] });
    const together = await collect(provider().stream(hi));
    expect(together.filter((event) => event.type === 'text')).toEqual([{ type: 'text', text: 'abc' }]);

    // Frames 30 ms apart arrive in separate chunks: each delta streams on as soon as it comes.
    fake.reply({ kind: 'text', chunks: ['x', 'y', 'z'], delayMs: 30 });
    const apart = await collect(provider().stream(hi));
    expect(apart.filter((event) => event.type === 'text').map((event) => (event as { text: string }).text)).toEqual([
      'x',
      'y',
      'z',
    ]);
  });

  it('streams text chunks, usage, then finish, and sends the request the API expects', async () => {
    fake.reply({ kind: 'text', chunks: ['Hel', 'lo', ' world'], usage: { input: 7, output: 3 } });
    const events = await collect(provider().stream({ ...hi, system: 'Be brief.', temperature: 0.3, maxTokens: 50 }));

    // Deltas that arrive in one network chunk are joined into one text event.
    const texts = events.filter((event) => event.type === 'text');
    expect(texts.length).toBeGreaterThanOrEqual(1);
    expect(textOf(events)).toBe('Hello world');
    expect(events.slice(texts.length)).toEqual([
      { type: 'usage', usage: { inputTokens: 7, outputTokens: 3 } },
      { type: 'finish', reason: 'stop' },
    ]);
    const [request] = fake.requests;
    expect(request?.method).toBe('POST');
    expect(request?.path).toBe('/v1/chat/completions');
    expect(request?.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(request?.body).toEqual({
      model: 'gpt-test',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
      ],
      stream: true,
      stream_options: { include_usage: true },
      temperature: 0.3,
      max_tokens: 50,
    });
  });

  it('omits tools, temperature and max_tokens when unset', async () => {
    await collect(provider().stream({ ...hi, tools: [] }));
    const body = fake.requests[0]?.body;
    expect(body).not.toHaveProperty('tools');
    expect(body).not.toHaveProperty('temperature');
    expect(body).not.toHaveProperty('max_tokens');
  });

  it('assembles tool-call arguments split across many deltas', async () => {
    fake.reply({
      kind: 'tool_calls',
      calls: [{ id: 'call_abc', name: 'get_weather', arguments: { city: 'Paris', units: 'metric' }, pieces: 7 }],
    });
    const events = await collect(
      provider().stream({
        ...hi,
        tools: [{ name: 'get_weather', description: 'Weather', inputSchema: { type: 'object', properties: {} } }],
      }),
    );
    expect(events.filter((e) => e.type !== 'usage')).toEqual([
      { type: 'tool_call', id: 'call_abc', name: 'get_weather', arguments: { city: 'Paris', units: 'metric' } },
      { type: 'finish', reason: 'tool_calls' },
    ]);
    expect(fake.requests[0]?.body.tools).toEqual([
      {
        type: 'function',
        function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: {} } },
      },
    ]);
  });

  it('assembles parallel tool calls by index, even when their deltas interleave, after the text', async () => {
    fake.reply({
      kind: 'tool_calls',
      text: ['Let me ', 'check.'],
      interleave: true,
      calls: [
        { id: 'call_1', name: 'a', arguments: { x: 1, long: 'aaaaaaaaaaaa' }, pieces: 4 },
        { id: 'call_2', name: 'b', arguments: { y: [1, 2, 3] }, pieces: 2 },
        { id: 'call_3', name: 'c', arguments: '' },
      ],
    });
    const events = await collect(provider().stream(hi));
    expect(textOf(events)).toBe('Let me check.');
    expect(events.filter((e) => e.type === 'tool_call')).toEqual([
      { type: 'tool_call', id: 'call_1', name: 'a', arguments: { x: 1, long: 'aaaaaaaaaaaa' } },
      { type: 'tool_call', id: 'call_2', name: 'b', arguments: { y: [1, 2, 3] } },
      { type: 'tool_call', id: 'call_3', name: 'c', arguments: {} },
    ]);
    expect(events.at(-1)).toEqual({ type: 'finish', reason: 'tool_calls' });
  });

  it('fails with PROVIDER_ERROR on tool arguments that are not valid JSON', async () => {
    fake.reply({ kind: 'tool_calls', calls: [{ name: 'a', arguments: '{"x": 1,' }] });
    const { error } = await collectFailure(provider().stream(hi));
    expect(error.code).toBe('PROVIDER_ERROR');
    expect(error.message).toContain("tool 'a'");
  });

  it('maps finish reasons', async () => {
    for (const [sent, expected] of [
      ['length', 'length'],
      ['content_filter', 'content_filter'],
      ['something_new', 'other'],
    ] as const) {
      fake.reply({ kind: 'text', chunks: ['x'], finishReason: sent });
      const events = await collect(provider().stream(hi));
      expect(events.at(-1)).toEqual({ type: 'finish', reason: expected });
    }
  });

  it('handles servers that send no usage chunk and no [DONE] after finish_reason', async () => {
    const chunk = (delta: object, finish: string | null) =>
      `data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    fake.reply({ kind: 'raw', frames: [chunk({ content: 'ok' }, null), chunk({}, 'stop')] });
    expect(await collect(provider().stream(hi))).toEqual([
      { type: 'text', text: 'ok' },
      { type: 'finish', reason: 'stop' },
    ]);
  });

  it('treats a stream that ends without finish_reason or [DONE] as cut', async () => {
    const chunk = `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: 'par' }, finish_reason: null }] })}\n\n`;
    fake.reply({ kind: 'raw', frames: [chunk] });
    const { events, error } = await collectFailure(provider().stream(hi));
    expect(textOf(events)).toBe('par');
    expect(error.code).toBe('PROVIDER_ERROR');
  });

  it('turns an error object sent mid-stream into PROVIDER_ERROR with the redacted message', async () => {
    fake.reply({ kind: 'error_event', before: ['a'], message: `upstream failed for key ${KEY}` });
    const { events, error } = await collectFailure(provider().stream(hi));
    expect(textOf(events)).toBe('a');
    expect(error.code).toBe('PROVIDER_ERROR');
    expect(error.message).toContain('upstream failed');
    expect(error.message).not.toContain(KEY);
  });
});

describe('OpenAIProvider kinds and URLs', () => {
  it('speaks the Azure URL shape with the api-key header', async () => {
    const azure = new OpenAIProvider(
      { kind: 'azure_openai', baseUrl: `${fake.origin}/`, apiKey: KEY, deployment: 'my-gpt', apiVersion: '2024-10-21' },
      FAST,
    );
    const events = await collect(azure.stream(hi));
    expect(textOf(events)).toBe('Hello from the fake.');
    const [request] = fake.requests;
    expect(request?.path).toBe('/openai/deployments/my-gpt/chat/completions?api-version=2024-10-21');
    expect(request?.headers['api-key']).toBe(KEY);
    expect(request?.headers.authorization).toBeUndefined();
  });

  it('uses the model as the Azure deployment and the default api-version when unset', async () => {
    const azure = new OpenAIProvider({ kind: 'azure_openai', baseUrl: fake.origin, apiKey: KEY }, FAST);
    await collect(azure.stream(hi));
    expect(fake.requests[0]?.path).toBe('/openai/deployments/gpt-test/chat/completions?api-version=2024-10-21');
  });

  it('sends no Authorization header without a key (Ollama) and adds custom headers', async () => {
    const ollama = new OpenAIProvider({ kind: 'ollama', baseUrl: fake.url, headers: { 'x-team': 'blue' } }, FAST);
    await collect(ollama.stream(hi));
    expect(fake.requests[0]?.headers.authorization).toBeUndefined();
    expect(fake.requests[0]?.headers['x-team']).toBe('blue');
  });

  it('requires a baseUrl for openai_compatible and azure_openai', () => {
    for (const kind of ['openai_compatible', 'azure_openai'] as const) {
      try {
        new OpenAIProvider({ kind });
        expect.unreachable();
      } catch (error) {
        expect(isLlmChatError(error) && error.code).toBe('CONFIG_INVALID');
      }
    }
    expect(new OpenAIProvider({ kind: 'ollama' }).kind).toBe('ollama');
  });
});

describe('OpenAI transcript mapping', () => {
  const transcript: LlmRequest['messages'] = [
    { role: 'user', content: 'What is in the picture and the weather?' },
    {
      role: 'assistant',
      content: '',
      toolCalls: [
        { id: 'call_1', name: 'screenshot', arguments: {} },
        { id: 'call_2', name: 'weather', arguments: { city: 'Oslo' } },
      ],
    },
    {
      role: 'tool',
      toolCallId: 'call_1',
      name: 'screenshot',
      content: 'captured',
      images: [{ data: 'AAAA', mimeType: 'image/png' }],
    },
    { role: 'tool', toolCallId: 'call_2', name: 'weather', content: 'boom', isError: true },
    { role: 'assistant', content: 'A cat; weather unknown.' },
    { role: 'user', content: 'Thanks' },
  ];

  it('maps tool calls, tool results and images (vision on)', async () => {
    await collect(provider().stream({ model: 'gpt-test', system: 'sys', messages: transcript, vision: true }));
    expect(fake.requests[0]?.body.messages).toEqual([
      { role: 'system', content: 'sys' },
      { role: 'user', content: 'What is in the picture and the weather?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_1', type: 'function', function: { name: 'screenshot', arguments: '{}' } },
          { id: 'call_2', type: 'function', function: { name: 'weather', arguments: '{"city":"Oslo"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: 'captured' },
      { role: 'tool', tool_call_id: 'call_2', content: 'Error: boom' },
      {
        role: 'user',
        content: [
          { type: 'text', text: "Images returned by the tool 'screenshot' (call call_1):" },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } },
        ],
      },
      { role: 'assistant', content: 'A cat; weather unknown.' },
      { role: 'user', content: 'Thanks' },
    ]);
  });

  it('replaces images with a note when vision is off', async () => {
    await collect(provider().stream({ model: 'gpt-test', messages: transcript }));
    const messages = fake.requests[0]?.body.messages as { role: string; content: unknown }[];
    expect(JSON.stringify(messages)).not.toContain('image_url');
    expect(JSON.stringify(messages)).not.toContain('AAAA');
    expect(messages[2]).toEqual({
      role: 'tool',
      tool_call_id: 'call_1',
      content: expect.stringMatching(/^captured\n\[The tool returned 1 image,/),
    });
    expect(messages.filter((m) => m.role === 'user')).toHaveLength(2);
  });
});

// A provider call given `onText` hands the answer's text over in place (no async step a token)
// and yields the other events, in the same order around it.
describe('LlmCallOptions.onText', () => {
  it('hands the text over and yields the rest, in order', async () => {
    fake.reply({
      kind: 'tool_calls',
      text: ['Let me', ' add.'],
      calls: [{ name: 'add', arguments: { a: 1 } }],
      delayMs: 5,
    });
    const order: string[] = [];
    const onText = (text: string) => {
      order.push(`text ${text}`);
      return undefined;
    };
    for await (const event of provider().stream(hi, { onText })) order.push(event.type);
    expect(order.filter((entry) => entry !== 'usage')).toEqual(['text Let me', 'text  add.', 'tool_call', 'finish']);
  });

  it('waits out the sink’s hold before it hands over more', async () => {
    fake.reply({ kind: 'text', chunks: ['a', 'b', 'c'], delayMs: 5 });
    const order: string[] = [];
    const onText = (text: string) => {
      order.push(text);
      if (text !== 'a') return undefined;
      return new Promise<void>((resolve) =>
        setTimeout(() => {
          order.push('let go');
          resolve();
        }, 50),
      );
    };
    const events: string[] = [];
    for await (const event of provider().stream(hi, { onText })) events.push(event.type);
    // What came meanwhile waited in the socket: read after the hold, maybe as one chunk.
    expect(order.slice(0, 2)).toEqual(['a', 'let go']);
    expect(order.slice(2).join('')).toBe('bc');
    expect(events).not.toContain('text');
  });

  it('lets what the sink throws out as it is, and does not send the call again', async () => {
    fake.reply({ kind: 'text', chunks: ['a', 'b'], delayMs: 5 });
    const mine = new Error('the sink failed');
    const onText = () => {
      throw mine;
    };
    const stream = provider().stream(hi, { onText });
    await expect(collect(stream)).rejects.toBe(mine);
    expect(fake.requests).toHaveLength(1);
  });

  it('a caller abort from inside the sink ends the call: no more text, ABORTED', async () => {
    fake.reply({ kind: 'text', chunks: ['a', 'b', 'c'], delayMs: 5 });
    const controller = new AbortController();
    const handed: string[] = [];
    const onText = (text: string) => {
      handed.push(text);
      controller.abort();
      return undefined;
    };
    const stream = provider().stream(hi, { onText, signal: controller.signal });
    await expect(collect(stream)).rejects.toMatchObject({ code: 'ABORTED' });
    expect(handed).toEqual(['a']);
  });

  it('lets a rejected hold out as it is', async () => {
    fake.reply({ kind: 'text', chunks: ['a', 'b'], delayMs: 5 });
    const mine = new Error('the hold failed');
    const stream = provider().stream(hi, { onText: () => Promise.reject(mine) });
    await expect(collect(stream)).rejects.toBe(mine);
  });
});
