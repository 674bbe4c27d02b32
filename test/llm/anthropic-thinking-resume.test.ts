import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { arrayHistory } from '../../src/chat/chat-history.js';
import { ChatService } from '../../src/chat/chat-service.js';
import { AnthropicProvider } from '../../src/llm/anthropic-provider.js';
import { rebuildTurn } from '../../src/turns/rebuild-turn.js';
import type { ChatEvent, TranscriptMessage } from '../../src/types.js';
import { functionTools, ok } from '../chat/scripted.js';
import { fakeThinkingSignature, startFakeAnthropic } from '../fixtures/fake-anthropic-server.js';
import type { FakeLlmServer, RecordedRequest } from '../fixtures/fake-llm-common.js';
import { FAST } from './helpers.js';

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

function service() {
  const provider = new AnthropicProvider(
    { baseUrl: fake.url, apiKey: 'k', thinkingBudgetTokens: 2048 },
    { ...FAST, maxRetries: 0 },
  );
  return new ChatService({ provider, model: 'claude-sonnet-4-5', tools: functionTools({ add: async () => ok('5') }) });
}

async function drain(events: AsyncIterable<ChatEvent>): Promise<ChatEvent[]> {
  const out: ChatEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

describe('Anthropic extended thinking, on a turn that cannot carry it (the fake refuses as the API does)', () => {
  it('a tool loop rebuilt after a takeover (no signed thinking in the event log) finishes', async () => {
    // A loop that kept its signed thinking has it on in every call.
    fake.reply((request: RecordedRequest) =>
      request.body.messages.at(-1).content.some((block: { type: string }) => block.type === 'tool_result')
        ? { kind: 'text', reasoning: ['Done.'], chunks: ['5'] }
        : {
            kind: 'tool_calls',
            reasoning: ['Add them.'],
            calls: [{ id: 'toolu_1', name: 'add', arguments: { a: 2, b: 3 } }],
          },
    );
    const kept = await drain(service().chat('add 2 and 3', { history: arrayHistory() }));
    expect(kept.at(-1)).toMatchObject({ type: 'final' });
    expect(fake.requests.map((request) => request.body.thinking?.type)).toEqual(['enabled', 'enabled']);

    // The rebuilt loop has no blocks to send back: that call goes without thinking.
    fake.requests.length = 0;
    fake.reply({ kind: 'text', chunks: ['The sum is 5.'] });
    const { messages } = rebuildTurn('add 2 and 3', [
      { event: 'tool_start', data: { id: 'toolu_1', tool: 'add', input: { a: 2, b: 3 } } },
      { event: 'tool_end', data: { id: 'toolu_1', tool: 'add', output: '5' } },
    ] as never);
    const events = await drain(service().resume({ messages }, { history: arrayHistory() }));
    expect(events.at(-1)).toMatchObject({ type: 'final', content: 'The sum is 5.' });
    expect(fake.requests[0]?.body.thinking).toBeUndefined();
  });

  it('the next question after such a turn was interrupted (its results and the question share a message) is answered', async () => {
    fake.reply({ kind: 'text', chunks: ['Hello.'] });
    const history = arrayHistory([
      { role: 'user', content: 'add 2 and 3' },
      { role: 'assistant', content: '', toolCalls: [{ id: 'toolu_1', name: 'add', arguments: { a: 2, b: 3 } }] },
      { role: 'tool', toolCallId: 'toolu_1', name: 'add', content: '5' },
      { role: 'assistant', content: '', interrupted: true },
    ]);
    const events = await drain(service().chat('hi', { history }));
    expect(events.at(-1)).toMatchObject({ type: 'final', content: 'Hello.' });
    expect(fake.requests[0]?.body.thinking).toBeUndefined();
  });

  it('continuing a cut answer sends its prefill without thinking', async () => {
    fake.reply({ kind: 'text', chunks: ['and two.'] });
    const cut: TranscriptMessage[] = [
      { role: 'user', content: 'explain' },
      {
        role: 'assistant',
        content: 'Part one ',
        thinking: [{ type: 'thinking', thinking: 't', signature: fakeThinkingSignature('t') }],
      },
    ];
    const events = await drain(service().resume({ messages: cut }, { history: arrayHistory() }));
    expect(events.at(-1)).toMatchObject({ type: 'final', content: 'Part one and two.' });
    const body = fake.requests[0]?.body;
    expect(body.thinking).toBeUndefined();
    expect(body.messages.at(-1)).toMatchObject({ role: 'assistant', content: [{ type: 'text', text: 'Part one' }] });
  });
});
