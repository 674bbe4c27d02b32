import { describe, expect, it } from 'vitest';
import { eitherSignal } from '../../src/internal/either-signal.js';

describe('eitherSignal', () => {
  it('aborts with the reason of whichever signal aborts first, once', () => {
    for (const firstAborts of [true, false]) {
      const first = new AbortController();
      const second = new AbortController();
      const signal = eitherSignal(first.signal, second.signal);
      let events = 0;
      signal.addEventListener('abort', () => events++);
      expect(signal.aborted).toBe(false);
      (firstAborts ? first : second).abort('one');
      (firstAborts ? second : first).abort('two');
      expect({ aborted: signal.aborted, reason: signal.reason, events }).toEqual({
        aborted: true,
        reason: 'one',
        events: 1,
      });
    }
  });

  it('is aborted already when a source is, with its reason', () => {
    const done = AbortSignal.abort('gone');
    expect(eitherSignal(new AbortController().signal, done).reason).toBe('gone');
    expect(eitherSignal(done, AbortSignal.abort('later')).reason).toBe('gone');
  });

  it('takes its listener off the other source once one source aborts', () => {
    const first = new AbortController();
    const second = new AbortController();
    let added = 0;
    let removed = 0;
    const signal = second.signal;
    const add = signal.addEventListener.bind(signal);
    const remove = signal.removeEventListener.bind(signal);
    signal.addEventListener = (...args: Parameters<AbortSignal['addEventListener']>) => {
      added++;
      add(...args);
    };
    signal.removeEventListener = (...args: Parameters<AbortSignal['removeEventListener']>) => {
      removed++;
      remove(...args);
    };
    eitherSignal(first.signal, second.signal);
    first.abort();
    expect({ added, removed }).toEqual({ added: 1, removed: 1 });
  });
});
