import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { describe, expect, it, vi } from 'vitest';
import { chunksToStream, encodeSseEvent, SSE_HEADERS, toSseStream } from '../../src/sse/index.js';

/** An iterator over fixed chunks that counts next() and return() calls. */
function countingIterator(chunks: string[], failAfter?: Error) {
  const calls = { next: 0, return: 0 };
  let index = 0;
  const iterator: AsyncIterator<string> = {
    async next() {
      calls.next++;
      if (index < chunks.length) return { done: false, value: chunks[index++] as string };
      if (failAfter !== undefined) throw failAfter;
      return { done: true, value: undefined };
    },
    async return() {
      calls.return++;
      return { done: true, value: undefined };
    },
  };
  return { calls, iterator };
}

async function settle(rounds = 5): Promise<void> {
  for (let round = 0; round < rounds; round++) await new Promise((resolve) => setImmediate(resolve));
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<{ text: string; reads: number }> {
  const decoder = new TextDecoder();
  let text = '';
  let reads = 0;
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    reads++;
    text += decoder.decode(value, { stream: true });
  }
  return { text: text + decoder.decode(), reads };
}

describe('chunksToStream', () => {
  it('pulls only when the consumer reads', async () => {
    const { calls, iterator } = countingIterator(['one', 'two']);
    const stream = chunksToStream(iterator);
    await settle();
    expect(calls.next).toBe(0);
    const reader = stream.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe('one');
    await settle();
    expect(calls.next).toBe(1);
    await reader.read();
    expect(calls.next).toBe(2);
    expect((await reader.read()).done).toBe(true);
  });

  it('encodes chunks as UTF-8 bytes', async () => {
    const { iterator } = countingIterator(['€ 👋', 'ü']);
    const reader = chunksToStream(iterator).getReader();
    const { value } = await reader.read();
    expect(value).toBeInstanceOf(Uint8Array);
    expect(Array.from(value ?? [])).toEqual(Array.from(new TextEncoder().encode('€ 👋')));
    await reader.cancel();
  });

  it('accepts an async iterable and skips empty chunks', async () => {
    async function* source() {
      yield 'a';
      yield '';
      yield 'b';
    }
    expect(await readAll(chunksToStream(source()))).toEqual({ text: 'ab', reads: 2 });
  });

  it('calls return() on the iterator when the stream is cancelled', async () => {
    const { calls, iterator } = countingIterator(['one', 'two', 'three']);
    const reader = chunksToStream(iterator).getReader();
    await reader.read();
    await reader.cancel();
    expect(calls.return).toBe(1);
    expect(calls.next).toBe(1);
  });

  it('errors the stream when the iterator fails', async () => {
    const boom = new Error('iterator failed');
    const { iterator } = countingIterator(['ok'], boom);
    const reader = chunksToStream(iterator).getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('ok');
    await expect(reader.read()).rejects.toBe(boom);
  });
});

describe('toSseStream', () => {
  it('streams events that a real SSE parser reads back intact', async () => {
    const events = Array.from({ length: 200 }, (_, index) => ({ type: 'token', content: `tok ${index} ✓\n` }));
    async function* source() {
      yield* events;
    }
    let id = 0;
    const stream = toSseStream(source(), {
      encode: (event) => encodeSseEvent({ event: event.type, id: ++id, data: { content: event.content } }),
    });
    const parsed: EventSourceMessage[] = [];
    const parser = createParser({ onEvent: (event) => parsed.push(event) });
    parser.feed((await readAll(stream)).text);
    expect(parsed).toHaveLength(200);
    expect(parsed.map((event) => JSON.parse(event.data).content)).toEqual(events.map((event) => event.content));
    expect(parsed.map((event) => Number(event.id))).toEqual(events.map((_, index) => index + 1));
  });

  it('works as a Response body with the SSE headers', async () => {
    async function* source() {
      yield 'hello';
    }
    const response = new Response(toSseStream(source(), { encode: (data) => encodeSseEvent({ data }) }), {
      headers: SSE_HEADERS,
    });
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(await response.text()).toBe('data: hello\n\n');
  });

  it('cancelling the stream cancels the source and calls onCancel once', async () => {
    let pulled = 0;
    let finalized = false;
    async function* endless() {
      try {
        for (;;) {
          pulled++;
          yield 'x'.repeat(1024);
        }
      } finally {
        finalized = true;
      }
    }
    const onCancel = vi.fn();
    const stream = toSseStream(endless(), { encode: (data) => encodeSseEvent({ data }), keepAliveMs: 0, onCancel });
    const reader = stream.getReader();
    await reader.read();
    await settle(20);
    // A reader that stopped reading holds the source near the high-water mark.
    expect(pulled).toBeLessThan(80);
    await reader.cancel();
    await settle();
    expect(onCancel).toHaveBeenCalledTimes(1);
    expect(finalized).toBe(true);
  });
});
