import { describe, expect, it } from 'vitest';
import { conversationIdSchema } from '../../src/conversations/conversation-id.js';
import { titleFromMessage } from '../../src/conversations/conversation-title.js';
import { type HistoryAssistantMessage, historyPage, type StoredTurn } from '../../src/conversations/history-view.js';
import { MAX_STORED_DEPTH } from '../../src/internal/json-depth.js';

const toolTurn = (n: number, at: string): StoredTurn =>
  [
    { role: 'user', content: `question ${n}`, at },
    { role: 'assistant', content: 'Let me look.', toolCalls: [{ id: `a${n}`, name: 'lookup', arguments: { n } }] },
    { role: 'tool', toolCallId: `a${n}`, name: 'lookup', content: '{"value":42}' },
    { role: 'assistant', content: '', toolCalls: [{ id: `b${n}`, name: 'broken', arguments: {} }] },
    { role: 'tool', toolCallId: `b${n}`, name: 'broken', content: 'it failed', isError: true },
    { role: 'assistant', content: `answer ${n}`, at: `${at.slice(0, -6)}9.000Z` },
  ] as StoredTurn;

describe('historyPage', () => {
  it('draws a turn as the user message and one answer with every tool call, output or error', () => {
    const page = historyPage([toolTurn(1, '2026-11-30T10:00:00.000Z')], { limit: 10 });
    expect(page).toEqual({
      hasMore: false,
      messages: [
        { role: 'user', content: 'question 1', at: '2026-11-30T10:00:00.000Z' },
        {
          role: 'assistant',
          content: 'Let me look.\n\nanswer 1',
          tool_calls: [
            { id: 'a1', tool: 'lookup', input: { n: 1 }, output: { value: 42 } },
            { id: 'b1', tool: 'broken', input: {}, error: 'it failed' },
          ],
          at: '2026-11-30T10:00:09.000Z',
        },
      ],
    });
  });

  it('marks stopped and interrupted answers, and a call that never got its result', () => {
    const stopped = [
      { role: 'user', content: 'long story', at: '2026-11-30T10:00:00.000Z' },
      { role: 'assistant', content: 'Once upon', interrupted: true, stopped: true },
    ] as unknown as StoredTurn;
    const crashed = [
      { role: 'user', content: 'use a tool', at: '2026-11-30T11:00:00.000Z' },
      { role: 'assistant', content: '', toolCalls: [{ id: 'x', name: 'slow', arguments: {} }], interrupted: true },
    ] as StoredTurn;
    const [, first, , second] = historyPage([stopped, crashed], { limit: 10 }).messages;
    expect(first).toMatchObject({ content: 'Once upon', stopped: true });
    expect(first).not.toHaveProperty('interrupted');
    expect(second).toMatchObject({ interrupted: true, tool_calls: [{ id: 'x', tool: 'slow', input: {} }] });
    expect(second).not.toHaveProperty('stopped');
    expect((second as { tool_calls: object[] }).tool_calls[0]).not.toHaveProperty('output');
  });

  it('pages backwards through time: the newest turns first, older ones with `before`', () => {
    const turns = [1, 2, 3, 4, 5].map((n) => toolTurn(n, `2026-11-30T1${n}:00:00.000Z`));
    const newest = historyPage(turns, { limit: 2 });
    expect(newest.messages.filter((m) => m.role === 'user').map((m) => m.content)).toEqual([
      'question 4',
      'question 5',
    ]);
    expect(newest.hasMore).toBe(true);
    const older = historyPage(turns, { limit: 2, before: newest.messages[0]?.at ?? undefined });
    expect(older.messages.filter((m) => m.role === 'user').map((m) => m.content)).toEqual(['question 2', 'question 3']);
    const oldest = historyPage(turns, { limit: 2, before: older.messages[0]?.at ?? undefined });
    expect(oldest.messages.filter((m) => m.role === 'user').map((m) => m.content)).toEqual(['question 1']);
    expect(oldest.hasMore).toBe(false);
  });

  it('keeps a text output that merely looks like JSON as text', () => {
    const turn = [
      { role: 'user', content: 'q' },
      { role: 'assistant', content: '', toolCalls: [{ id: 'c', name: 't', arguments: {} }] },
      { role: 'tool', toolCallId: 'c', name: 't', content: '{not json' },
    ] as StoredTurn;
    const [user, answer] = historyPage([turn], { limit: 1 }).messages;
    expect(user).toEqual({ role: 'user', content: 'q', at: null });
    expect(answer).toMatchObject({ tool_calls: [{ output: '{not json' }] });
  });

  it('keeps an output nested deeper than stored values may as text, so the page can be sent', () => {
    const deep = '['.repeat(9000) + ']'.repeat(9000);
    const deepest = '['.repeat(MAX_STORED_DEPTH) + ']'.repeat(MAX_STORED_DEPTH);
    const turn = [
      { role: 'user', content: 'q' },
      {
        role: 'assistant',
        content: '',
        toolCalls: [
          { id: 'd', name: 't', arguments: {} },
          { id: 'e', name: 't', arguments: {} },
        ],
      },
      { role: 'tool', toolCallId: 'd', name: 't', content: deep },
      { role: 'tool', toolCallId: 'e', name: 't', content: deepest },
    ] as StoredTurn;
    const page = historyPage([turn], { limit: 1 });
    const [deepCall, deepestCall] = (page.messages[1] as HistoryAssistantMessage).tool_calls;
    expect(deepCall?.output).toBe(deep);
    // As deep as a stored value may be is still parsed.
    expect(Array.isArray(deepestCall?.output)).toBe(true);
    expect(JSON.stringify(page)).toContain(deep);
  });
});

describe('titleFromMessage', () => {
  it('takes the first non-blank line, collapsed and without control characters', () => {
    expect(titleFromMessage('\n\n   What  is\t12 * 7?\u0007  \nsecond line')).toBe('What is 12 * 7?');
    expect(titleFromMessage('   \n\t')).toBe('New conversation');
  });

  it('cuts a long line at a word boundary with an ellipsis, within the limit', () => {
    const title = titleFromMessage(`${'word '.repeat(40)}end`, 30);
    expect(title.endsWith('…')).toBe(true);
    expect(Array.from(title).length).toBeLessThanOrEqual(30);
    expect(title).toBe(`${'word '.repeat(5).trim()}…`);
    // One endless word is cut where it must be, and emoji are never split in half.
    expect(titleFromMessage('🚀'.repeat(100), 10)).toBe(`${'🚀'.repeat(9)}…`);
  });
});

describe('conversationIdSchema', () => {
  it('accepts the contract character set and refuses anything else', () => {
    for (const ok of ['default', 'a', 'chat-2026.11.30_x:y', 'x'.repeat(128)]) {
      expect(conversationIdSchema.safeParse(ok).success).toBe(true);
    }
    for (const bad of ['', 'x'.repeat(129), 'a b', 'a/b', '{tag}', 'ü', 'a\nb']) {
      expect(conversationIdSchema.safeParse(bad).success).toBe(false);
    }
  });
});
