import { describe, expect, it } from 'vitest';
import { abortSignalOf, LazyAbort } from '../../src/internal/lazy-abort.js';
import { throwIfAborted } from '../../src/internal/throw-if-aborted.js';

describe('LazyAbort', () => {
  it('runs each listener once, in order, and keeps the reason', () => {
    const abort = new LazyAbort();
    const calls: string[] = [];
    const first = () => calls.push('first');
    abort.addEventListener('abort', first);
    abort.addEventListener('abort', first);
    abort.addEventListener('abort', () => calls.push(`second saw ${String(abort.aborted)}`));
    expect(abort.aborted).toBe(false);
    const reason = new Error('stop');
    abort.abort(reason);
    abort.abort(new Error('again'));
    expect(calls).toEqual(['first', 'second saw true']);
    expect(abort.reason).toBe(reason);
    expect(() => throwIfAborted(abort)).toThrow(reason);
  });

  it('gives an AbortError when aborted without a reason, as a controller does', () => {
    const abort = new LazyAbort();
    abort.abort();
    expect(abort.reason).toBeInstanceOf(DOMException);
    expect((abort.reason as DOMException).name).toBe('AbortError');
  });

  it('does not call a removed listener, nor one added after the abort', () => {
    const abort = new LazyAbort();
    const calls: string[] = [];
    const removed = () => calls.push('removed');
    abort.addEventListener('abort', removed);
    abort.removeEventListener('abort', removed);
    abort.abort();
    abort.addEventListener('abort', () => calls.push('late'));
    expect(calls).toEqual([]);
  });

  it('does not call a listener that an earlier one removed during the abort, as a signal does', () => {
    const abort = new LazyAbort();
    const calls: string[] = [];
    const third = () => calls.push('third');
    abort.addEventListener('abort', () => {
      calls.push('first');
      abort.removeEventListener('abort', first);
      abort.removeEventListener('abort', third);
    });
    const first = () => calls.push('second');
    abort.addEventListener('abort', first);
    abort.addEventListener('abort', third);
    abort.addEventListener('abort', () => calls.push('fourth'));
    abort.abort();
    expect(calls).toEqual(['first', 'fourth']);
  });

  it('runs the other listeners when one throws, and does not throw itself', () => {
    const abort = new LazyAbort();
    const calls: string[] = [];
    abort.addEventListener('abort', () => {
      throw new Error('listener failed');
    });
    abort.addEventListener('abort', () => calls.push('ran'));
    expect(() => abort.abort()).not.toThrow();
    expect(calls).toEqual(['ran']);
  });

  it('makes a real signal only when asked, which aborts with it', () => {
    const abort = new LazyAbort();
    const signal = abortSignalOf(abort);
    expect(signal).toBeInstanceOf(AbortSignal);
    expect(abortSignalOf(abort)).toBe(signal);
    let heard: unknown;
    signal.addEventListener('abort', () => {
      heard = signal.reason;
    });
    const reason = new Error('timed out');
    abort.abort(reason);
    expect(signal.aborted).toBe(true);
    expect(heard).toBe(reason);
  });

  it('gives a signal asked for after the abort already aborted, with the reason', () => {
    const abort = new LazyAbort();
    const reason = new Error('done');
    abort.abort(reason);
    expect(abort.signal.aborted).toBe(true);
    expect(abort.signal.reason).toBe(reason);
  });

  it('passes a real signal through abortSignalOf as it is', () => {
    const signal = new AbortController().signal;
    expect(abortSignalOf(signal)).toBe(signal);
  });
});
