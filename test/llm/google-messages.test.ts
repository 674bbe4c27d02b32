import { describe, expect, it } from 'vitest';
import { SKIP_THOUGHT_SIGNATURE, toGeminiContents } from '../../src/llm/google-messages.js';
import type { TranscriptMessage } from '../../src/types.js';

const png = { data: 'iVBORw0KGgo=', mimeType: 'image/png' };

describe('toGeminiContents', () => {
  it('puts function responses first in their turn, images after them, and signs only current-turn calls', () => {
    const messages: TranscriptMessage[] = [
      { role: 'user', content: 'earlier' },
      { role: 'assistant', content: '', toolCalls: [{ id: 'a', name: 'old', arguments: {} }] },
      { role: 'tool', toolCallId: 'a', name: 'old', content: 'x' },
      { role: 'assistant', content: 'done' },
      { role: 'user', content: 'now' },
      {
        role: 'assistant',
        content: 'Looking.',
        toolCalls: [
          { id: 'b', name: 'shot', arguments: { n: 1 }, signature: 'sig-b' },
          { id: 'c', name: 'shot', arguments: { n: 2 } },
        ],
      },
      { role: 'tool', toolCallId: 'b', name: 'shot', content: '', images: [png] },
      { role: 'tool', toolCallId: 'c', name: 'shot', content: 'failed', isError: true },
    ];
    const contents = toGeminiContents(messages, true);
    // The earlier turn's unsigned call is left alone: Gemini checks only the current turn.
    expect(contents[1]).toEqual({ role: 'model', parts: [{ functionCall: { name: 'old', args: {} } }] });
    expect(contents.slice(5)).toEqual([
      {
        role: 'model',
        parts: [
          { text: 'Looking.' },
          { functionCall: { name: 'shot', args: { n: 1 } }, thoughtSignature: 'sig-b' },
          { functionCall: { name: 'shot', args: { n: 2 } } },
        ],
      },
      {
        role: 'user',
        parts: [
          { functionResponse: { name: 'shot', response: { output: '' } } },
          { functionResponse: { name: 'shot', response: { error: 'failed' } } },
          { inlineData: { mimeType: 'image/png', data: png.data } },
        ],
      },
    ]);
  });

  it('gives the first call of a current-turn step the skip value when it has no signature', () => {
    const contents = toGeminiContents([
      { role: 'user', content: 'now' },
      { role: 'assistant', content: '', toolCalls: [{ id: 'x', name: 't', arguments: {} }] },
      { role: 'tool', toolCallId: 'x', name: 't', content: '1' },
    ]);
    expect(contents[1]?.parts[0]).toMatchObject({ thoughtSignature: SKIP_THOUGHT_SIGNATURE });
  });
});
