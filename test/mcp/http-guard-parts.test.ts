import { describe, expect, it, vi } from 'vitest';
import { onAbort } from '../../src/mcp/abort-fanout.js';
import { SecretRedactor } from '../../src/mcp/secret-redactor.js';
import { SseEventSizer } from '../../src/mcp/sse-event-sizer.js';

const bytes = (text: string) => new TextEncoder().encode(text);

describe('SseEventSizer', () => {
  it('counts the bytes of the event being received and resets at each blank line', () => {
    const sizer = new SseEventSizer();
    expect(sizer.push(bytes('data: 12345\n'), 100)).toBe(true);
    expect(sizer.eventBytes).toBe(12);
    expect(sizer.push(bytes('\n'), 100)).toBe(true);
    expect(sizer.eventBytes).toBe(0);
  });

  it('refuses an event longer than the limit, across chunks', () => {
    const sizer = new SseEventSizer();
    expect(sizer.push(bytes('data: '), 10)).toBe(true);
    expect(sizer.push(bytes('0123'), 10)).toBe(true);
    expect(sizer.push(bytes('45'), 10)).toBe(false);
  });

  it('many small events never reach the limit', () => {
    const sizer = new SseEventSizer();
    for (let index = 0; index < 1000; index += 1) expect(sizer.push(bytes(': ping\r\n\r\n'), 16)).toBe(true);
  });

  it('knows CRLF, CR and LF line ends, and whether it stands mid-line', () => {
    const sizer = new SseEventSizer();
    sizer.push(bytes('data: a\r\n'), 100);
    expect(sizer.midLine).toBe(false);
    sizer.push(bytes('\r'), 100);
    expect(sizer.eventBytes).toBe(0);
    sizer.push(bytes('data: b'), 100);
    expect(sizer.midLine).toBe(true);
  });

  it('is primed only by a completed event with a non-empty id', () => {
    const sizer = new SseEventSizer();
    sizer.push(bytes('id:\ndata: x\n\n'), 100);
    expect(sizer.primed).toBe(false);
    sizer.push(bytes('idx: 1\n\n'), 100);
    expect(sizer.primed).toBe(false);
    sizer.push(bytes('id: 7\n'), 100);
    expect(sizer.primed).toBe(false);
    sizer.push(bytes('\n'), 100);
    expect(sizer.primed).toBe(true);
  });
});

describe('SecretRedactor', () => {
  it('masks header values and the credential of Authorization, longest first', () => {
    const redactor = new SecretRedactor();
    redactor.learnHeaders({
      Authorization: 'Bearer tok-123456',
      'X-Api-Key': 'key-abcdef',
      Accept: 'text/event-stream',
    });
    expect(redactor.redact('got Bearer tok-123456 and tok-123456 and key-abcdef; text/event-stream')).toBe(
      'got ***** and ***** and *****; text/event-stream',
    );
  });

  it('ignores values too short to be secrets', () => {
    const redactor = new SecretRedactor();
    redactor.learnHeaders({ 'X-Tenant': 'a1' });
    expect(redactor.redact('a1 stays')).toBe('a1 stays');
  });
});

describe('onAbort', () => {
  it('puts one listener on the signal however many subscribe, and calls each subscriber', () => {
    const controller = new AbortController();
    const add = vi.spyOn(controller.signal, 'addEventListener');
    const calls: unknown[] = [];
    const unlinks = Array.from({ length: 20 }, (_, index) => onAbort(controller.signal, () => calls.push(index)));
    expect(add).toHaveBeenCalledTimes(1);
    unlinks[0]?.();
    controller.abort('why');
    expect(calls).toHaveLength(19);
  });

  it('removes its listener when the last subscriber leaves', () => {
    const controller = new AbortController();
    const remove = vi.spyOn(controller.signal, 'removeEventListener');
    const first = onAbort(controller.signal, () => undefined);
    const second = onAbort(controller.signal, () => undefined);
    first();
    expect(remove).not.toHaveBeenCalled();
    second();
    expect(remove).toHaveBeenCalledTimes(1);
  });

  it('calls at once for a signal that already aborted', () => {
    const callback = vi.fn();
    onAbort(AbortSignal.abort('done'), callback);
    expect(callback).toHaveBeenCalledWith('done');
  });
});
