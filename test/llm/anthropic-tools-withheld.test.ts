import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { arrayHistory } from '../../src/chat/chat-history.js';
import { ChatService } from '../../src/chat/chat-service.js';
import { AnthropicProvider } from '../../src/llm/anthropic-provider.js';
import type { ChatEvent } from '../../src/types.js';
import { functionTools, ok } from '../chat/scripted.js';
import { startFakeAnthropic } from '../fixtures/fake-anthropic-server.js';
import type { FakeLlmServer } from '../fixtures/fake-llm-common.js';
import { FAST } from './helpers.js';

let fake: FakeLlmServer;
beforeAll(async () => {
  fake = await startFakeAnthropic();
});
afterAll(async () => {
  await fake.close();
});

async function drain(events: AsyncIterable<ChatEvent>): Promise<ChatEvent[]> {
  const out: ChatEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

describe('Anthropic, a call that sends no tools (the fake refuses tool blocks there, as the API does)', () => {
  it('writes the tool exchanges of the last round, where tools are withheld, out as text', async () => {
    const provider = new AnthropicProvider({ baseUrl: fake.url, apiKey: 'k' }, { ...FAST, maxRetries: 0 });
    const service = new ChatService({
      provider,
      model: 'claude-sonnet-4-5',
      tools: functionTools({ add: async () => ok('5') }),
      maxToolRounds: 1,
    });
    fake.reply([
      { kind: 'tool_calls', calls: [{ id: 'toolu_1', name: 'add', arguments: { a: 2, b: 3 } }] },
      { kind: 'text', chunks: ['The sum is 5.'] },
    ]);
    const events = await drain(service.chat('add 2 and 3', { history: arrayHistory() }));
    expect(events.at(-1)).toMatchObject({ type: 'final', content: 'The sum is 5.' });
    const last = fake.requests.at(-1)?.body;
    expect(last.tools).toBeUndefined();
    const texts = last.messages.flatMap((message: { content: Array<{ type: string; text?: string }> }) =>
      message.content.map((block) => (block.type === 'text' ? block.text : block.type)),
    );
    expect(texts).toEqual(['add 2 and 3', '[Called the tool add with {"a":2,"b":3}]', '[The tool add returned: 5]']);
  });
});
