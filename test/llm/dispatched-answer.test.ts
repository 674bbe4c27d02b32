/**
 * The undici dispatch handler that is also the provider answer and its body's reader, driven the
 * way undici's dispatcher drives it (a controller, then headers, chunks, the end or an error).
 * The transport tests run it over real sockets; these pin what sockets make hard to time:
 * backpressure, aborts before the socket starts, the drain after a cancel.
 */
import { getEventListeners } from 'node:events';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DispatchedAnswer, DRAIN_GRACE_MS, UNPAUSABLE_AHEAD_BYTES } from '../../src/llm/dispatched-answer.js';

/** A controller like undici's: records what the handler asked of the request. */
class FakeController {
  paused = false;
  aborted = false;
  reason: Error | null = null;
  resumes = 0;
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
    this.resumes++;
  }
  abort(reason: Error): void {
    this.aborted = true;
    this.reason = reason;
  }
}

const DONE = { done: true, value: undefined };
const text = (result: ReadableStreamReadResult<Uint8Array>) => Buffer.from(result.value as Uint8Array).toString();

function started(options: { decode?: () => PassThrough | undefined; signal?: AbortSignal } = {}) {
  const controller = new FakeController();
  const answer = new DispatchedAnswer(
    options.signal ?? new AbortController().signal,
    options.decode ?? (() => undefined),
  );
  answer.onRequestStart(controller);
  return { answer, controller };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('DispatchedAnswer', () => {
  it('answers at the headers (not at an informational 100), and reads them by any spelling', async () => {
    const { answer, controller } = started();
    let settled = false;
    void answer.answered.then(() => {
      settled = true;
    });
    answer.onResponseStart(controller, 100, {});
    await Promise.resolve();
    expect(settled).toBe(false);
    answer.onResponseStart(controller, 429, { 'retry-after': '2', 'set-cookie': ['a=1', 'b=2'] });
    const response = await answer.answered;
    expect(response.status).toBe(429);
    expect(response.ok).toBe(false);
    expect(response.headers.get('Retry-After')).toBe('2');
    expect(response.headers.get('set-cookie')).toBe('a=1, b=2');
    expect(response.headers.get('x-missing')).toBeNull();
  });

  it('keeps what comes while nobody reads and hands it over joined, then the end', async () => {
    const { answer, controller } = started();
    answer.onResponseStart(controller, 200, {});
    const reader = (await answer.answered).body?.getReader();
    if (!reader) throw new Error('no body');
    answer.onResponseData(controller, Buffer.from('data: a\n\n'));
    answer.onResponseData(controller, Buffer.from('data: b\n\n'));
    expect(text(await reader.read())).toBe('data: a\n\ndata: b\n\n');
    const pending = reader.read();
    answer.onResponseData(controller, Buffer.from('data: c\n\n'));
    expect(text(await pending)).toBe('data: c\n\n');
    answer.onResponseEnd();
    expect(await reader.read()).toEqual(DONE);
    expect(controller.aborted).toBe(false);
  });

  it("stops listening to the caller's signal once the request ends or fails", async () => {
    for (const ending of ['end', 'error'] as const) {
      const abort = new AbortController();
      const { answer, controller } = started({ signal: abort.signal });
      expect(getEventListeners(abort.signal, 'abort')).toHaveLength(1);
      answer.onResponseStart(controller, 200, {});
      if (ending === 'end') answer.onResponseEnd();
      else answer.onResponseError(controller, new Error('reset'));
      expect(getEventListeners(abort.signal, 'abort')).toHaveLength(0);
    }
  });

  it('has one reader, read one read at a time', async () => {
    const { answer, controller } = started();
    answer.onResponseStart(controller, 200, {});
    const reader = answer.getReader();
    expect(() => answer.getReader()).toThrow(TypeError);
    const first = reader.read();
    await expect(reader.read()).rejects.toThrow(TypeError);
    answer.onResponseEnd();
    expect(await first).toEqual(DONE);
  });

  it('pauses the request once 64 KB wait for the reader, and resumes it when a read takes them', async () => {
    const { answer, controller } = started();
    answer.onResponseStart(controller, 200, { 'transfer-encoding': 'gzip, chunked' });
    const reader = answer.getReader();
    for (let i = 0; i < 3; i++) answer.onResponseData(controller, Buffer.alloc(16 * 1024));
    expect(controller.paused).toBe(false);
    answer.onResponseData(controller, Buffer.alloc(16 * 1024));
    expect(controller.paused).toBe(true);
    expect(((await reader.read()).value as Uint8Array).byteLength).toBe(64 * 1024);
    expect(controller.paused).toBe(false);
  });

  it.each([
    ['Connection: close', { 'content-length': String(16 * 1024 * 1024), connection: 'keep-alive, close' }],
    ['no length and no chunked framing', {}],
    // chunked not as the last coding frames nothing, and a Transfer-Encoding overrides a length.
    ['chunked, then another coding', { 'transfer-encoding': 'chunked, gzip', 'content-length': '10' }],
  ])('never pauses an answer that ends with its connection (%s), and cuts it far past the mark', async (_, headers) => {
    // undici 7 dies on an assertion when such a connection closes while its parser is paused.
    const { answer, controller } = started();
    answer.onResponseStart(controller, 200, headers);
    const reader = answer.getReader();
    const chunk = Buffer.alloc(64 * 1024);
    for (let sent = 0; sent < UNPAUSABLE_AHEAD_BYTES; sent += chunk.byteLength)
      answer.onResponseData(controller, chunk);
    expect(controller.paused).toBe(false);
    expect(controller.aborted).toBe(false);
    expect(((await reader.read()).value as Uint8Array).byteLength).toBe(UNPAUSABLE_AHEAD_BYTES);
    for (let sent = 0; sent <= UNPAUSABLE_AHEAD_BYTES; sent += chunk.byteLength)
      answer.onResponseData(controller, chunk);
    expect(controller.paused).toBe(false);
    expect(controller.aborted).toBe(true);
    expect(controller.reason?.message).toMatch(/ahead of its reader/);
  });

  it('never pauses a compressed answer that ends with its connection on its full decoder', () => {
    const decoder = new PassThrough({ highWaterMark: 4 });
    const { answer, controller } = started({ decode: () => decoder });
    answer.onResponseStart(controller, 200, { 'content-encoding': 'gzip', connection: 'close' });
    answer.onResponseData(controller, Buffer.from('decoded '));
    expect(controller.paused).toBe(false);
  });

  it('an abort before the socket is connected rejects at once, and cuts the request when it starts', async () => {
    const abort = new AbortController();
    const answer = new DispatchedAnswer(abort.signal, () => undefined);
    abort.abort(new Error('stop now'));
    await expect(answer.answered).rejects.toThrow('stop now');
    const controller = new FakeController();
    answer.onRequestStart(controller);
    expect(controller.aborted).toBe(true);
    expect(controller.reason?.message).toBe('stop now');
  });

  it('an abort mid-body cuts the request and fails the pending read with the reason', async () => {
    const abort = new AbortController();
    const { answer, controller } = started({ signal: abort.signal });
    answer.onResponseStart(controller, 200, {});
    const pending = answer.getReader().read();
    abort.abort(new Error('user stopped'));
    await expect(pending).rejects.toThrow('user stopped');
    expect(controller.reason?.message).toBe('user stopped');
  });

  it('a failure before the headers rejects the answer; after them, the reads', async () => {
    const before = started();
    before.answer.onResponseError(before.controller, new Error('connect ECONNREFUSED'));
    await expect(before.answer.answered).rejects.toThrow('ECONNREFUSED');

    // A request undici refused outright fails before it ever had a controller.
    const refused = new DispatchedAnswer(new AbortController().signal, () => undefined);
    refused.onResponseError(undefined, new Error('invalid header'));
    await expect(refused.answered).rejects.toThrow('invalid header');

    const { answer, controller } = started();
    answer.onResponseStart(controller, 200, {});
    const reader = answer.getReader();
    answer.onResponseData(controller, Buffer.from('kept'));
    answer.onResponseError(controller, new Error('other side closed'));
    // What came before the failure is still handed over, then the failure.
    expect(text(await reader.read())).toBe('kept');
    await expect(reader.read()).rejects.toThrow('other side closed');
  });

  it('after a cancel, drains the rest unread and cuts the request only if it has not ended in time', async () => {
    vi.useFakeTimers();
    const ending = started();
    ending.answer.onResponseStart(ending.controller, 200, {});
    const endingReader = ending.answer.getReader();
    const pending = endingReader.read();
    ending.controller.paused = true;
    await endingReader.cancel();
    expect(await pending).toEqual(DONE);
    // Paused requests are resumed so the rest drains; what comes is dropped.
    expect(ending.controller.paused).toBe(false);
    ending.answer.onResponseData(ending.controller, Buffer.from('data: [DONE]\n\n'));
    expect(await endingReader.read()).toEqual(DONE);
    ending.answer.onResponseEnd();
    vi.advanceTimersByTime(DRAIN_GRACE_MS * 2);
    expect(ending.controller.aborted).toBe(false);

    const held = started();
    held.answer.onResponseStart(held.controller, 200, {});
    await held.answer.getReader().cancel();
    vi.advanceTimersByTime(DRAIN_GRACE_MS - 1);
    expect(held.controller.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(held.controller.aborted).toBe(true);
    // The cut comes back as an error the cancelled reader no longer reports.
    held.answer.onResponseError(held.controller, held.controller.reason as Error);
  });

  it('a cancel after the end neither drains nor cuts', async () => {
    vi.useFakeTimers();
    const { answer, controller } = started();
    answer.onResponseStart(controller, 200, {});
    const reader = answer.getReader();
    answer.onResponseEnd();
    await reader.cancel();
    vi.advanceTimersByTime(DRAIN_GRACE_MS * 2);
    expect(controller.aborted).toBe(false);
    expect(controller.resumes).toBe(0);
  });

  it('reads a compressed answer through its decoder, and holds the request back while the decoder is full', async () => {
    const decoder = new PassThrough({ highWaterMark: 4 });
    const { answer, controller } = started({ decode: () => decoder });
    answer.onResponseStart(controller, 200, { 'content-encoding': 'gzip', 'content-length': '12' });
    answer.onResponseData(controller, Buffer.from('decoded '));
    // The decoder's buffer is past its mark: undici is told to wait.
    expect(controller.paused).toBe(true);
    const reader = answer.getReader();
    expect(text(await reader.read())).toBe('decoded ');
    await new Promise((resolve) => setImmediate(resolve));
    expect(controller.paused).toBe(false);
    answer.onResponseData(controller, Buffer.from('text'));
    answer.onResponseEnd();
    expect(text(await reader.read())).toBe('text');
    expect(await reader.read()).toEqual(DONE);
  });

  it('a broken compressed answer fails its reads, and a cancel cuts it at once', async () => {
    const broken = started({ decode: () => new PassThrough() });
    broken.answer.onResponseStart(broken.controller, 200, { 'content-encoding': 'br' });
    const reader = broken.answer.getReader();
    const pending = reader.read();
    broken.answer.onResponseError(broken.controller, new Error('other side closed'));
    await expect(pending).rejects.toThrow('other side closed');

    const left = started({ decode: () => new PassThrough() });
    left.answer.onResponseStart(left.controller, 200, { 'content-encoding': 'deflate' });
    await left.answer.getReader().cancel();
    expect(left.controller.aborted).toBe(true);
  });
});
