import { afterEach, describe, expect, it } from 'vitest';
import { readSse, sseDecoder } from '../../src/llm/read-sse.js';
import { collect, textOf } from './helpers.js';
import { hi, openai, type RawSseServer, serveRawSse } from './raw-sse-server.js';

// SSE lines may end in CR, LF or CRLF. A CR that ends a network chunk may be the first half of a
// CRLF: it must still end its line at once (an event must not wait for the next chunk, and the
// body's last one must not be lost), and an LF opening the next chunk is not a line of its own.

const encoder = new TextEncoder();

/** The data of the events each chunk gives, then what the end gives. */
function decodeAll(chunks: string[]): { perChunk: string[][]; atEnd: string[] } {
  const decoder = sseDecoder();
  const perChunk = chunks.map((chunk) => decoder.decode(encoder.encode(chunk)).map((message) => message.data));
  return { perChunk, atEnd: decoder.end().map((message) => message.data) };
}

function bodyOf(parts: string[], thenHang = false): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const part = parts[i++];
      if (part !== undefined) controller.enqueue(encoder.encode(part));
      else if (thenHang) return new Promise<void>(() => {});
      else controller.close();
      return undefined;
    },
  });
}

describe('SSE with CR line endings', () => {
  it('parses a CR-only body to its last event', async () => {
    const seen: string[] = [];
    for await (const message of readSse(bodyOf(['data: one\r\rdata: two\r', 'data: three\r\r', 'data: [DONE]\r\r']))) {
      seen.push(message.data);
    }
    expect(seen).toEqual(['one', 'two\nthree', '[DONE]']);
  });

  it('hands out an event whose chunk ends with CR without waiting for the next chunk', async () => {
    expect(decodeAll(['data: a\r\r', 'data: b\r\r']).perChunk).toEqual([['a'], ['b']]);
    // Over a body whose next read never comes.
    const body = bodyOf(['data: a\r\r'], true);
    for await (const message of readSse(body)) {
      expect(message.data).toBe('a');
      break;
    }
  });

  it('reads a CRLF cut between its CR and its LF as one line ending', () => {
    // Were the LF a line of its own, `a` would be sent alone and `b` as an event of its own.
    expect(decodeAll(['data: a\r', '\ndata: b\r\n\r\n'])).toEqual({ perChunk: [[], ['a\nb']], atEnd: [] });
    expect(decodeAll(['data: a\r', '\n', '\r', '\n'])).toEqual({ perChunk: [[], [], ['a'], []], atEnd: [] });
    // Two CRs are two line endings, wherever the chunk is cut.
    expect(decodeAll(['data: a\r', '\r'])).toEqual({ perChunk: [[], ['a']], atEnd: [] });
  });

  it('keeps the rule across an empty chunk between the CR and the LF', () => {
    const decoder = sseDecoder();
    expect(decoder.decode(encoder.encode('data: a\r'))).toEqual([]);
    expect(decoder.decode(new Uint8Array(0))).toEqual([]);
    expect(decoder.decode(encoder.encode('\ndata: b\r\n\r\n')).map((message) => message.data)).toEqual(['a\nb']);
  });
});

describe('a provider stream with CR line endings', () => {
  let server: RawSseServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  // The finish chunk is the body's last event: no `[DONE]` after it.
  it('gives the whole answer, its finish included', async () => {
    const chunk = (content: string) => JSON.stringify({ choices: [{ index: 0, delta: { content } }] });
    const finish = JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
    server = await serveRawSse((response) => {
      response.end([chunk('Hel'), chunk('lo'), finish].map((data) => `data: ${data}\r\r`).join(''));
    });
    const events = await collect(openai(server.url, { maxRetries: 0 }).stream(hi));
    expect(textOf(events)).toBe('Hello');
    expect(events.at(-1)).toEqual({ type: 'finish', reason: 'stop' });
  });
});
