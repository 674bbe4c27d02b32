import { describe, expect, it } from 'vitest';
import { parseRetryAfter } from '../../src/llm/parse-retry-after.js';
import { readSse } from '../../src/llm/read-sse.js';
import { redactProviderMessage } from '../../src/llm/redact-provider-message.js';

function bodyOf(parts: string[], onCancel?: (reason: unknown) => void): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const part = parts[i++];
      if (part === undefined) controller.close();
      else controller.enqueue(encoder.encode(part));
    },
    cancel(reason) {
      onCancel?.(reason);
    },
  });
}

describe('readSse', () => {
  it('parses events split at arbitrary byte boundaries, including multi-byte characters', async () => {
    const text = 'event: a\ndata: {"x":"é"}\n\n: comment\n\ndata: line1\ndata: line2\n\n';
    const bytes = new TextEncoder().encode(text);
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < bytes.length; i += 3) chunks.push(bytes.slice(i, i + 3));
    let i = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const chunk = chunks[i++];
        if (chunk === undefined) controller.close();
        else controller.enqueue(chunk);
      },
    });
    const seen = [];
    for await (const message of readSse(body)) seen.push({ event: message.event, data: message.data });
    expect(seen).toEqual([
      { event: 'a', data: '{"x":"é"}' },
      { event: undefined, data: 'line1\nline2' },
    ]);
  });

  it('drops an event left without its blank line at the end of the body', async () => {
    const seen = [];
    for await (const message of readSse(bodyOf(['data: one\n\n', 'data: two']))) seen.push(message.data);
    expect(seen).toEqual(['one']);
  });

  it('cancels the body and releases the reader on early return', async () => {
    let cancelled = false;
    const body = bodyOf(['data: 1\n\n', 'data: 2\n\n', 'data: 3\n\n'], () => {
      cancelled = true;
    });
    for await (const message of readSse(body)) {
      if (message.data === '1') break;
    }
    expect(cancelled).toBe(true);
    expect(body.locked).toBe(false);
  });

  it('cancels a body left early with one shared reason (no fetch-built DOMException per call)', async () => {
    const reasons: unknown[] = [];
    for (let round = 0; round < 2; round++) {
      const body = bodyOf(['data: 1\n\n', 'data: 2\n\n'], (reason) => reasons.push(reason));
      for await (const message of readSse(body)) if (message.data === '1') break;
    }
    expect(reasons).toHaveLength(2);
    expect(reasons[0]).toBeInstanceOf(Error);
    expect(reasons[1]).toBe(reasons[0]);
  });

  it('calls onChunk per raw chunk and throws the abort reason when the signal fires', async () => {
    const controller = new AbortController();
    let chunks = 0;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode('data: first\n\n'));
        // …and then nothing: only the abort can end the read.
      },
    });
    const reason = new Error('stop now');
    await expect(
      (async () => {
        for await (const _ of readSse(body, { signal: controller.signal, onChunk: () => chunks++ })) {
          controller.abort(reason);
        }
      })(),
    ).rejects.toBe(reason);
    expect(chunks).toBe(1);
  });
});

describe('redactProviderMessage', () => {
  it('masks the exact secrets and key-like strings', () => {
    const secret = 'abcd-very-private';
    const out = redactProviderMessage(
      `bad key ${secret}; also sk-proj-XYZ123abc, Bearer eyJhbGciOi.x.y, https://u:p@host/x, api_key=zzz`,
      [secret],
    );
    expect(out).toBeDefined();
    for (const leaked of [secret, 'sk-proj', 'eyJhbGciOi', 'u:p@', 'zzz']) expect(out).not.toContain(leaked);
    expect(out).toContain('bad key');
  });

  it('drops long and non-string messages', () => {
    expect(redactProviderMessage('x'.repeat(400))).toBeUndefined();
    expect(redactProviderMessage({ message: 'x' })).toBeUndefined();
    expect(redactProviderMessage('   ')).toBeUndefined();
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds, HTTP dates and retry-after-ms', () => {
    const now = Date.parse('2030-01-01T00:00:00Z');
    expect(parseRetryAfter(new Headers({ 'retry-after': '3' }), now)).toBe(3000);
    expect(parseRetryAfter(new Headers({ 'retry-after': 'Tue, 01 Jan 2030 00:00:05 GMT' }), now)).toBe(5000);
    expect(parseRetryAfter(new Headers({ 'retry-after': 'Mon, 31 Dec 2029 00:00:00 GMT' }), now)).toBe(0);
    expect(parseRetryAfter(new Headers({ 'retry-after-ms': '250', 'retry-after': '9' }), now)).toBe(250);
    expect(parseRetryAfter(new Headers({ 'retry-after': 'soon' }), now)).toBeUndefined();
    expect(parseRetryAfter(new Headers(), now)).toBeUndefined();
  });
});
