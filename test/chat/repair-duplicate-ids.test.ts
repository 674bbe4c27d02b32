import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repairTranscript } from '../../src/chat/repair-transcript.js';
import { AnthropicProvider } from '../../src/llm/anthropic-provider.js';
import type { AssistantMessage, TranscriptMessage } from '../../src/types.js';
import { startFakeAnthropic } from '../fixtures/fake-anthropic-server.js';
import type { FakeLlmServer } from '../fixtures/fake-llm-common.js';
import { collect, FAST, textOf } from '../llm/helpers.js';

const user = (content: string): TranscriptMessage => ({ role: 'user', content });
const calls = (...ids: string[]): TranscriptMessage => ({
  role: 'assistant',
  content: '',
  toolCalls: ids.map((id, n) => ({ id, name: 'a', arguments: { n } })),
});
const result = (id: string, content: string): TranscriptMessage => ({
  role: 'tool',
  toolCallId: id,
  name: 'a',
  content,
});
const answer = (content: string): TranscriptMessage => ({ role: 'assistant', content });

/** `id:content` of each result, `[ids]` of each call message, the role of the rest. */
function shape(messages: TranscriptMessage[]): string[] {
  return messages.map((m) => {
    if (m.role === 'tool') return `${m.toolCallId}:${m.content}`;
    if (m.role === 'assistant' && m.toolCalls) return `[${m.toolCalls.map((call) => call.id).join(',')}]`;
    return m.role;
  });
}

describe('repairTranscript with repeated call ids', () => {
  it('gives the second call of an id a new id, and its result (the second one) the same', () => {
    const input = [user('q'), calls('x', 'x'), result('x', 'r1'), result('x', 'r2'), answer('done')];
    const { messages, droppedResults, closedCalls } = repairTranscript(input);
    expect(shape(messages)).toEqual(['user', '[x,x_2]', 'x:r1', 'x_2:r2', 'assistant']);
    expect([droppedResults, closedCalls]).toEqual([0, 0]);
    // The calls keep everything but the id; the same input repairs the same way, and is not changed.
    expect((messages[1] as AssistantMessage).toolCalls?.map((call) => call.arguments)).toEqual([{ n: 0 }, { n: 1 }]);
    const copy = structuredClone(input);
    expect(repairTranscript(input).messages).toEqual(messages);
    expect(input).toEqual(copy);
  });

  it('renames an id an earlier message used (a server that numbers every round from call_0)', () => {
    const input = [
      user('q'),
      calls('call_0'),
      result('call_0', 'a'),
      calls('call_0', 'call_0_2'),
      result('call_0', 'b'),
      result('call_0_2', 'c'),
      answer('done'),
      user('q2'),
      calls('call_0'),
      result('call_0', 'd'),
    ];
    expect(shape(repairTranscript(input).messages)).toEqual([
      'user',
      '[call_0]',
      'call_0:a',
      '[call_0_2,call_0_2_2]',
      'call_0_2:b',
      'call_0_2_2:c',
      'assistant',
      'user',
      '[call_0_3]',
      'call_0_3:d',
    ]);
  });

  it('closes a repeated call that got no result under its new id; a third result is dropped', () => {
    const closed = repairTranscript([user('q'), calls('x', 'x'), result('x', 'r1')]);
    expect(shape(closed.messages)).toEqual([
      'user',
      '[x,x_2]',
      'x:r1',
      'x_2:The tool call did not finish; no result was recorded.',
    ]);
    expect(closed.closedCalls).toBe(1);
    const extra = repairTranscript([user('q'), calls('x', 'x'), result('x', '1'), result('x', '2'), result('x', '3')]);
    expect(shape(extra.messages)).toEqual(['user', '[x,x_2]', 'x:1', 'x_2:2']);
    expect(extra.droppedResults).toBe(1);
  });
});

describe('Anthropic accepts the repaired transcript (the fake refuses repeated tool_use ids, as the API does)', () => {
  let fake: FakeLlmServer;
  beforeAll(async () => {
    fake = await startFakeAnthropic({ reply: { kind: 'text', chunks: ['fine'] } });
  });
  afterAll(async () => {
    await fake.close();
  });

  it('sends both calls and both results', async () => {
    const stored = [user('q'), calls('x', 'x'), result('x', 'r1'), result('x', 'r2'), answer('done'), user('again')];
    const provider = new AnthropicProvider({ baseUrl: fake.url, apiKey: 'k' }, { ...FAST, maxRetries: 0 });
    const tools = [{ name: 'a', inputSchema: { type: 'object' } }];
    const events = await collect(provider.stream({ model: 'm', messages: repairTranscript(stored).messages, tools }));
    expect(textOf(events)).toBe('fine');
    expect(fake.requests[0]?.body.messages[2].content.map((block: { content: string }) => block.content)).toEqual([
      'r1',
      'r2',
    ]);
  });
});
