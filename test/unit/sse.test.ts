import { createParser, type EventSourceMessage } from 'eventsource-parser';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isLlmChatError } from '../../src/errors.js';
import { encodeSseComment, encodeSseEvent, SSE_HEADERS, type SseMessage } from '../../src/sse/index.js';

/** Parses SSE text the way a real client does, collecting events, comments and retry values. */
function parse(text: string): { events: EventSourceMessage[]; comments: string[]; retries: number[] } {
  const events: EventSourceMessage[] = [];
  const comments: string[] = [];
  const retries: number[] = [];
  const parser = createParser({
    onEvent: (event) => events.push(event),
    onComment: (comment) => comments.push(comment),
    onRetry: (retry) => retries.push(retry),
    onError: (error) => {
      throw error;
    },
  });
  parser.feed(text);
  return { events, comments, retries };
}

function expectInternal(fn: () => unknown, message: RegExp): void {
  try {
    fn();
  } catch (error) {
    expect(isLlmChatError(error)).toBe(true);
    expect((error as { code: string }).code).toBe('INTERNAL');
    expect((error as Error).message).toMatch(message);
    return;
  }
  throw new Error('expected the call to throw');
}

describe('encodeSseEvent', () => {
  it('writes event, id, retry, then data, and ends the frame with a blank line', () => {
    expect(encodeSseEvent({ data: { content: 'Hi' }, retry: 3000, id: 7, event: 'token' })).toBe(
      'event: token\nid: 7\nretry: 3000\ndata: {"content":"Hi"}\n\n',
    );
  });

  it('sends a string payload as-is and JSON-encodes anything else', () => {
    expect(encodeSseEvent({ data: 'plain "text"' })).toBe('data: plain "text"\n\n');
    expect(encodeSseEvent({ data: 42 })).toBe('data: 42\n\n');
    expect(encodeSseEvent({ data: null })).toBe('data: null\n\n');
    expect(encodeSseEvent({ data: [1, 'a'] })).toBe('data: [1,"a"]\n\n');
    expect(encodeSseEvent({ data: '' })).toBe('data: \n\n');
  });

  it('keeps JSON payloads on one line even when their strings hold line breaks', () => {
    const frame = encodeSseEvent({ event: 'token', data: { content: 'a\nb\r\nc' } });
    expect(frame).toBe('event: token\ndata: {"content":"a\\nb\\r\\nc"}\n\n');
  });

  it('splits multi-line string data on CRLF, CR and LF into several data lines', () => {
    expect(encodeSseEvent({ data: 'a\nb\r\nc\rd' })).toBe('data: a\ndata: b\ndata: c\ndata: d\n\n');
    expect(encodeSseEvent({ data: 'end\n' })).toBe('data: end\ndata: \n\n');
    expect(encodeSseEvent({ data: '\n\n' })).toBe('data: \ndata: \ndata: \n\n');
  });

  it('omits fields that are not given', () => {
    expect(encodeSseEvent({ event: 'x' })).toBe('event: x\n\n');
    expect(encodeSseEvent({})).toBe('\n');
  });

  it('writes a string id verbatim and a numeric id in decimal', () => {
    expect(encodeSseEvent({ id: 'abc-1', data: 1 })).toBe('id: abc-1\ndata: 1\n\n');
    expect(encodeSseEvent({ id: 0, data: 1 })).toBe('id: 0\ndata: 1\n\n');
    expect(encodeSseEvent({ id: '', data: 1 })).toBe('id: \ndata: 1\n\n');
  });

  it('rejects a line break in the event name as a server bug (INTERNAL)', () => {
    expectInternal(() => encodeSseEvent({ event: 'a\nb', data: 1 }), /event name/);
    expectInternal(() => encodeSseEvent({ event: 'a\rb', data: 1 }), /event name/);
    expectInternal(() => encodeSseEvent({ event: 'token\r\n', data: 1 }), /event name/);
  });

  it('rejects CR, LF and NUL in the id, and a non-finite numeric id', () => {
    expectInternal(() => encodeSseEvent({ id: '1\n2', data: 1 }), /id/);
    expectInternal(() => encodeSseEvent({ id: '1\r', data: 1 }), /id/);
    expectInternal(() => encodeSseEvent({ id: 'a\0b', data: 1 }), /NUL/);
    expectInternal(() => encodeSseEvent({ id: Number.NaN, data: 1 }), /finite/);
    expectInternal(() => encodeSseEvent({ id: Number.POSITIVE_INFINITY, data: 1 }), /finite/);
  });

  it('accepts retry only as a non-negative whole number', () => {
    expect(encodeSseEvent({ retry: 0 })).toBe('retry: 0\n\n');
    for (const retry of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60]) {
      expectInternal(() => encodeSseEvent({ retry }), /retry/);
    }
  });

  it('refuses data that JSON cannot represent instead of sending garbage', () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expectInternal(() => encodeSseEvent({ data: circular }), /serialized/);
    expectInternal(() => encodeSseEvent({ data: 10n }), /serialized/);
    expectInternal(() => encodeSseEvent({ data: () => 1 }), /serialized/);
    expectInternal(() => encodeSseEvent({ data: Symbol('x') }), /serialized/);
  });

  it('keeps the serializer failure as cause, not in the message', () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    try {
      encodeSseEvent({ data: circular });
      expect.unreachable();
    } catch (error) {
      expect((error as Error).cause).toBeInstanceOf(TypeError);
      expect((error as Error).message).not.toMatch(/circular/i);
    }
  });

  it('writes a comment field before the other fields', () => {
    expect(encodeSseEvent({ comment: 'hello', event: 'x', data: 1 })).toBe(': hello\nevent: x\ndata: 1\n\n');
    expect(encodeSseEvent({ comment: 'a\nb' })).toBe(': a\n: b\n\n');
  });
});

describe('encodeSseComment', () => {
  it('writes `: text` and a blank line', () => {
    expect(encodeSseComment('ping')).toBe(': ping\n\n');
  });

  it('turns a multi-line comment into several comment lines', () => {
    expect(encodeSseComment('one\r\ntwo\rthree\nfour')).toBe(': one\n: two\n: three\n: four\n\n');
  });

  it('is read back as comments, never as events', () => {
    const parsed = parse(encodeSseComment('ping') + encodeSseComment('a\nb'));
    expect(parsed.events).toEqual([]);
    expect(parsed.comments).toEqual(['ping', 'a', 'b']);
  });
});

describe('encodeSseEvent read back with eventsource-parser', () => {
  it('round-trips multi-line, unicode and emoji string data', () => {
    const samples = [
      'line 1\nline 2',
      'crlf\r\nend',
      'héllo wörld — ünïcode',
      '👋🏽 family: 👨‍👩‍👧‍👦',
      ' leading space',
      '',
    ];
    const text = samples.map((data, index) => encodeSseEvent({ event: 'token', id: index, data })).join('');
    const { events } = parse(text);
    expect(events.map((event) => event.data)).toEqual(samples.map((data) => data.replace(/\r\n|\r/g, '\n')));
    expect(events.map((event) => event.id)).toEqual(samples.map((_, index) => String(index)));
    expect(events.every((event) => event.event === 'token')).toBe(true);
  });

  it('round-trips JSON payloads holding line breaks, quotes and emoji', () => {
    const payloads = [
      { type: 'final', content: 'multi\nline\r\n"quoted" 🎉', tools: ['a', 'b'] },
      { content: '\u2028\u2029 separators' },
    ];
    const { events } = parse(payloads.map((data) => encodeSseEvent({ event: 'final', data })).join(''));
    expect(events.map((event) => JSON.parse(event.data))).toEqual(payloads);
  });

  it('round-trips the retry field and keeps events apart over a thousand frames', () => {
    const frames: SseMessage[] = Array.from({ length: 1000 }, (_, index) => ({
      event: index % 2 === 0 ? 'token' : 'tool_start',
      id: index + 1,
      data: { content: `chunk ${index}` },
    }));
    const { events, retries } = parse(encodeSseEvent({ retry: 2500 }) + frames.map(encodeSseEvent).join(''));
    expect(retries).toEqual([2500]);
    expect(events).toHaveLength(1000);
    expect(events[999]).toEqual({ event: 'tool_start', id: '1000', data: '{"content":"chunk 999"}' });
  });

  it('round-trips any string, line breaks normalized to LF (property)', () => {
    const text = fc.array(fc.oneof(fc.string({ unit: 'binary' }), fc.constantFrom('\n', '\r', '\r\n', ': ', 'data:')));
    fc.assert(
      fc.property(text, (parts) => {
        const data = parts.join('');
        const { events } = parse(encodeSseEvent({ event: 'token', data }));
        expect(events).toHaveLength(1);
        expect(events[0]?.data).toBe(data.replace(/\r\n|\r/g, '\n'));
      }),
    );
  });

  it('round-trips any non-string JSON value (property)', () => {
    // Strings are sent as-is by design, so only the JSON-encoded kinds belong here.
    const nonString = fc.jsonValue().filter((value) => typeof value !== 'string');
    fc.assert(
      fc.property(nonString, (value) => {
        const { events } = parse(encodeSseEvent({ data: value }));
        expect(JSON.parse(events[0]?.data ?? 'null')).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
  });
});

describe('SSE_HEADERS', () => {
  it('names the event-stream headers in lower case and leaves out Connection', () => {
    expect(SSE_HEADERS).toEqual({
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
    });
    expect(Object.isFrozen(SSE_HEADERS)).toBe(true);
    expect(new Headers(SSE_HEADERS).get('Content-Type')).toBe('text/event-stream; charset=utf-8');
  });
});
