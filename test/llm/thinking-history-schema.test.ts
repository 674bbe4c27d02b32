import { describe, expect, it } from 'vitest';
import { transcriptTurnSchema } from '../../src/session/session-schemas.js';

describe('stored history with thinking blocks', () => {
  const turn = (thinking: unknown) => [
    { role: 'user', content: 'add 2 and 3' },
    { role: 'assistant', content: '', toolCalls: [{ id: 't1', name: 'add', arguments: {} }], thinking },
  ];

  it('accepts signed and redacted blocks, kept as they are', () => {
    const blocks = [
      { type: 'thinking', thinking: 'I should add.', signature: 'c2ln' },
      { type: 'redacted_thinking', data: 'EnCr==' },
    ];
    const parsed = transcriptTurnSchema.parse(turn(blocks));
    expect(parsed[1]).toMatchObject({ thinking: blocks });
  });

  it('refuses a block that could not go back to the provider', () => {
    expect(transcriptTurnSchema.safeParse(turn([{ type: 'thinking', thinking: 'no signature' }])).success).toBe(false);
    expect(transcriptTurnSchema.safeParse(turn([{ type: 'redacted_thinking' }])).success).toBe(false);
  });
});
