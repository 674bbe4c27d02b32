import { describe, expect, it } from 'vitest';
import { toBedrockMessages, toBedrockToolConfig } from '../../src/llm/bedrock-messages.js';
import type { TranscriptMessage } from '../../src/types.js';

const png = { data: 'iVBORw0KGgo=', mimeType: 'image/png' };

describe('toBedrockMessages', () => {
  const turn: TranscriptMessage[] = [
    { role: 'user', content: 'Show me' },
    { role: 'assistant', content: ' ', toolCalls: [{ id: 't1', name: 'shot', arguments: {} }] },
    {
      role: 'tool',
      toolCallId: 't1',
      name: 'shot',
      content: '',
      images: [png, { data: 'AAAA', mimeType: 'image/tiff' }],
    },
    { role: 'user', content: 'and?' },
  ];

  it('sends images as image blocks with vision, a note for the rest, and merges a user message after results', () => {
    expect(toBedrockMessages(turn, { vision: true })).toEqual([
      { role: 'user', content: [{ text: 'Show me' }] },
      // Blank text is dropped: Converse refuses it.
      { role: 'assistant', content: [{ toolUse: { toolUseId: 't1', name: 'shot', input: {} } }] },
      {
        role: 'user',
        content: [
          {
            toolResult: {
              toolUseId: 't1',
              content: [
                { text: '[The tool returned 1 image, not shown: this model does not accept images.]' },
                { image: { format: 'png', source: { bytes: png.data } } },
              ],
            },
          },
          { text: 'and?' },
        ],
      },
    ]);
  });

  it('replaces images by a note without vision, and an empty result by a placeholder', () => {
    const out = toBedrockMessages(turn);
    expect(out[2]?.content[0]).toEqual({
      toolResult: {
        toolUseId: 't1',
        content: [{ text: '[The tool returned 2 images, not shown: this model does not accept images.]' }],
      },
    });
    const empty = toBedrockMessages([{ role: 'tool', toolCallId: 'x', name: 'n', content: '' }]);
    expect(empty[0]?.content[0]).toMatchObject({ toolResult: { content: [{ text: '(no output)' }] } });
  });

  it('maps tools to toolSpecs, leaving out empty descriptions', () => {
    expect(toBedrockToolConfig([{ name: 'a', description: '', inputSchema: { type: 'object' } }])).toEqual({
      tools: [{ toolSpec: { name: 'a', inputSchema: { json: { type: 'object' } } } }],
    });
  });
});
