import { describe, expect, it } from 'vitest';
import { encodeChatEvent, UNENCODABLE_VALUE } from '../../src/http/encode-chat-event.js';

function deep(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

describe('encodeChatEvent', () => {
  it('replaces a tool output too deep for JSON.stringify by a note, and keeps counting ids', () => {
    const encode = encodeChatEvent();
    const frame = encode({ type: 'tool_end', id: 'c1', tool: 't', output: deep(20_000) as never, end: 'now' });
    expect(frame).toContain(`"output":${JSON.stringify(UNENCODABLE_VALUE)}`);
    expect(frame).toMatch(/^event: tool_end\nid: 1\n/);
    expect(encode({ type: 'token', content: 'x' })).toMatch(/^event: token\nid: 2\n/);
  });

  it('replaces a tool input too deep for JSON.stringify by a note', () => {
    const frame = encodeChatEvent()({
      type: 'tool_start',
      id: 'c1',
      tool: 't',
      input: deep(20_000) as never,
      start: 's',
    });
    expect(frame).toContain(`"input":${JSON.stringify(UNENCODABLE_VALUE)}`);
  });
});
