import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { arrayHistory } from '../../src/chat/chat-history.js';
import { ChatService } from '../../src/chat/chat-service.js';
import { toAnthropicMessages } from '../../src/llm/anthropic-messages.js';
import { AnthropicProvider } from '../../src/llm/anthropic-provider.js';
import type { TranscriptMessage } from '../../src/types.js';
import { functionTools, ok } from '../chat/scripted.js';
import { startFakeAnthropic } from '../fixtures/fake-anthropic-server.js';
import type { FakeLlmServer } from '../fixtures/fake-llm-common.js';
import { FAST } from './helpers.js';

const PNG = 'iVBORw0KGgo=';

describe('Anthropic: text blocks blank after trimming are left out', () => {
  it('drops the "\\n\\n" a model says before its tool call, keeping the call', () => {
    const messages: TranscriptMessage[] = [
      { role: 'user', content: 'weather?' },
      { role: 'assistant', content: '\n\n', toolCalls: [{ id: 'call_1', name: 'get', arguments: {} }] },
      { role: 'tool', toolCallId: 'call_1', name: 'get', content: 'sunny' },
    ];
    expect(toAnthropicMessages(messages)[1]).toEqual({
      role: 'assistant',
      content: [{ type: 'tool_use', id: 'call_1', name: 'get', input: {} }],
    });
  });

  it('drops a message left with no block, and the roles still alternate', () => {
    const messages: TranscriptMessage[] = [
      { role: 'user', content: 'a' },
      { role: 'assistant', content: ' \t' },
      { role: 'user', content: 'b' },
      { role: 'assistant', content: 'answer' },
      { role: 'user', content: '\n' },
      { role: 'user', content: 'c' },
    ];
    expect(toAnthropicMessages(messages)).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'a' },
          { type: 'text', text: 'b' },
        ],
      },
      { role: 'assistant', content: [{ type: 'text', text: 'answer' }] },
      { role: 'user', content: [{ type: 'text', text: 'c' }] },
    ]);
  });

  it('sends a vision tool result with blank text as its images only', () => {
    const messages: TranscriptMessage[] = [
      { role: 'user', content: 'shot' },
      { role: 'assistant', content: '', toolCalls: [{ id: 't1', name: 'shot', arguments: {} }] },
      { role: 'tool', toolCallId: 't1', name: 'shot', content: '  ', images: [{ data: PNG, mimeType: 'image/png' }] },
    ];
    expect(toAnthropicMessages(messages, { vision: true })[2]?.content).toEqual([
      {
        type: 'tool_result',
        tool_use_id: 't1',
        content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } }],
      },
    ]);
  });
});

describe('Anthropic: a tool round whose text was blank (the fake refuses blank text blocks as the API does)', () => {
  let fake: FakeLlmServer;
  beforeAll(async () => {
    fake = await startFakeAnthropic();
  });
  afterAll(async () => {
    await fake.close();
  });

  it('completes the turn', async () => {
    let round = 0;
    fake.reply(() =>
      round++ === 0
        ? { kind: 'tool_calls', text: ['\n\n'], calls: [{ id: 'toolu_1', name: 'add', arguments: { a: 1 } }] }
        : { kind: 'text', chunks: ['done'] },
    );
    const provider = new AnthropicProvider({ baseUrl: fake.url, apiKey: 'k' }, { ...FAST, maxRetries: 0 });
    const chat = new ChatService({ provider, model: 'claude', tools: functionTools({ add: async () => ok('2') }) });
    const events = [];
    for await (const event of chat.chat('add', { history: arrayHistory() })) events.push(event);
    expect(events.at(-1)).toMatchObject({ type: 'final' });
    expect(fake.requests[1]?.body.messages[1].content).toEqual([
      { type: 'tool_use', id: 'toolu_1', name: 'add', input: { a: 1 } },
    ]);
  });
});
