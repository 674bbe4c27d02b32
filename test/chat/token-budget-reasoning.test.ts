import { describe, expect, it } from 'vitest';
import { estimateTokens, fitHistory, messageTokens } from '../../src/chat/token-budget.js';
import type { TranscriptMessage } from '../../src/types.js';

describe('the token budget counts the reasoning that goes back with a message', () => {
  it('counts `reasoning` (sent back as reasoning_content or a tool plan)', () => {
    const plain: TranscriptMessage = { role: 'assistant', content: 'a' };
    const reasoned: TranscriptMessage = { role: 'assistant', content: 'a', reasoning: 'r'.repeat(4_000) };
    expect(messageTokens(reasoned, estimateTokens) - messageTokens(plain, estimateTokens)).toBe(1_000);
  });

  it('counts the text of thinking blocks and the data of redacted ones', () => {
    const plain: TranscriptMessage = { role: 'assistant', content: 'a' };
    const thinking: TranscriptMessage = {
      role: 'assistant',
      content: 'a',
      thinking: [
        { type: 'thinking', thinking: 't'.repeat(400), signature: 'sig' },
        { type: 'redacted_thinking', data: 'd'.repeat(800) },
      ],
    };
    expect(messageTokens(thinking, estimateTokens) - messageTokens(plain, estimateTokens)).toBe(300);
  });

  it('leaves out an old turn whose reasoning does not fit', () => {
    const past: TranscriptMessage[] = [
      { role: 'user', content: 'q1' },
      {
        role: 'assistant',
        content: '',
        reasoning: 'r'.repeat(400_000),
        toolCalls: [{ id: 'c1', name: 't', arguments: {} }],
      },
      { role: 'tool', toolCallId: 'c1', name: 't', content: 'x' },
      { role: 'assistant', content: 'a1' },
    ];
    const current: TranscriptMessage[] = [{ role: 'user', content: 'q2' }];
    expect(fitHistory(past, current, 1_000, estimateTokens)).toEqual(current);
  });
});
