import { describe, expect, it } from 'vitest';
import { repairTranscript } from '../../src/chat/repair-transcript.js';
import type { TranscriptMessage } from '../../src/types.js';

const user = (content: string): TranscriptMessage => ({ role: 'user', content });
const calls = (...ids: string[]): TranscriptMessage => ({
  role: 'assistant',
  content: '',
  toolCalls: ids.map((id) => ({ id, name: 'add', arguments: {} })),
});
const result = (id: string, content = 'ok'): TranscriptMessage => ({
  role: 'tool',
  toolCallId: id,
  name: 'add',
  content,
});
const answer = (content: string): TranscriptMessage => ({ role: 'assistant', content });

describe('repairTranscript', () => {
  it('leaves a valid transcript as it is', () => {
    const valid = [user('a'), calls('1', '2'), result('2'), result('1'), answer('done'), user('b'), answer('hi')];
    expect(repairTranscript(valid)).toEqual({ messages: valid, droppedResults: 0, closedCalls: 0 });
  });

  it('drops orphan and duplicate tool results', () => {
    const poisoned = [result('x'), user('a'), calls('1'), result('1'), result('1'), answer('done'), result('1')];
    const { messages, droppedResults, closedCalls } = repairTranscript(poisoned);
    expect(messages).toEqual([user('a'), calls('1'), result('1'), answer('done')]);
    expect([droppedResults, closedCalls]).toEqual([3, 0]);
  });

  it('closes tool calls that never got a result, where they stand', () => {
    const unfinished = [user('a'), calls('1', '2'), result('1'), user('b'), calls('3')];
    const { messages, closedCalls } = repairTranscript(unfinished);
    expect(messages.map((m) => (m.role === 'tool' ? `tool:${m.toolCallId}:${m.isError === true}` : m.role))).toEqual([
      'user',
      'assistant',
      'tool:1:false',
      'tool:2:true',
      'user',
      'assistant',
      'tool:3:true',
    ]);
    expect(closedCalls).toBe(2);
  });

  it('does not change its input', () => {
    const input = [result('x'), calls('1')];
    const copy = structuredClone(input);
    repairTranscript(input);
    expect(input).toEqual(copy);
  });
});
