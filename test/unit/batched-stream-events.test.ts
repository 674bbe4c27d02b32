import { describe, expect, it } from 'vitest';
import { LlmChatError } from '../../src/errors.js';
import { BatchedStreamEvents } from '../../src/llm/batch-stream-events.js';
import type { LlmStreamEvent } from '../../src/llm/llm-provider.js';
import type { StreamParser } from '../../src/llm/stream-parser.js';

/** A parser of plain strings: `t:x` is text, `r:x` reasoning, `u` usage, `!` a failure, `.` the end. */
function toyParser(): StreamParser<string> {
  let done = false;
  return {
    *push(message) {
      if (message === '!') throw new LlmChatError('PROVIDER_ERROR', 'bad chunk');
      if (message === '.') done = true;
      else if (message === 'u') yield { type: 'usage', usage: { inputTokens: 1, outputTokens: 2 } };
      else yield { type: message.startsWith('r:') ? 'reasoning' : 'text', text: message.slice(2) };
    },
    get done() {
      return done;
    },
    *end() {
      yield { type: 'finish', reason: 'stop' };
    },
  };
}

describe('BatchedStreamEvents', () => {
  it('joins consecutive text, and reasoning, of one batch; other events keep their place', () => {
    const events = new BatchedStreamEvents(toyParser());
    expect([...events.of(['t:a', 't:b', 'r:x', 'r:y', 'u', 't:c'])]).toEqual<LlmStreamEvent[]>([
      { type: 'text', text: 'ab' },
      { type: 'reasoning', text: 'xy' },
      { type: 'usage', usage: { inputTokens: 1, outputTokens: 2 } },
      { type: 'text', text: 'c' },
    ]);
    // Batches are not joined with each other.
    expect([...events.of(['t:d'])]).toEqual([{ type: 'text', text: 'd' }]);
    expect([...events.end()]).toEqual([{ type: 'finish', reason: 'stop' }]);
  });

  it('gives the text before a failure, then throws it', () => {
    const seen: LlmStreamEvent[] = [];
    const events = new BatchedStreamEvents(toyParser());
    expect(() => {
      for (const event of events.of(['t:a', 't:b', '!', 't:never'])) seen.push(event);
      events.throwIfFailed();
    }).toThrow('bad chunk');
    expect(seen).toEqual([{ type: 'text', text: 'ab' }]);
    // Thrown once: the next batch starts clean.
    expect(() => events.throwIfFailed()).not.toThrow();
  });

  it('joins three and more texts, and leaves the parser its own objects', () => {
    const events = new BatchedStreamEvents(toyParser());
    expect(events.of(['t:a', 't:b', 't:c', 'u', 'r:x'])).toEqual<LlmStreamEvent[]>([
      { type: 'text', text: 'abc' },
      { type: 'usage', usage: { inputTokens: 1, outputTokens: 2 } },
      { type: 'reasoning', text: 'x' },
    ]);
    const parsed: LlmStreamEvent = { type: 'text', text: 'p' };
    const one = new BatchedStreamEvents<string>({ ...toyParser(), push: () => [parsed], done: false });
    expect(one.of(['x'])).toEqual([parsed]);
    expect(one.of(['x', 'y'])).toEqual([{ type: 'text', text: 'pp' }]);
    expect(parsed).toEqual({ type: 'text', text: 'p' });
  });

  it('stops reading a batch once the parser is done', () => {
    const events = new BatchedStreamEvents(toyParser());
    expect([...events.of(['t:a', '.', 't:after'])]).toEqual([{ type: 'text', text: 'a' }]);
    expect(events.done).toBe(true);
  });
});
