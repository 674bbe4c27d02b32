import { describe, expect, it } from 'vitest';
import { TextMemo } from '../../src/internal/text-memo.js';

/** A decoder that upper-cases its text and counts its calls. */
function upperCaseDecoder() {
  let calls = 0;
  return {
    decode: (text: string) => {
      calls += 1;
      return text.toUpperCase();
    },
    count: () => calls,
  };
}

describe('TextMemo', () => {
  it('decodes a text once, freezes the value, and does not keep failures', () => {
    const memo = new TextMemo<{ n: number[] }>(1000);
    let decodes = 0;
    const decode = (text: string) => {
      decodes += 1;
      return text === 'bad' ? undefined : { n: [text.length] };
    };
    const first = memo.get('abc', decode);
    expect(memo.get('abc', decode)).toBe(first);
    expect(decodes).toBe(1);
    expect(Object.isFrozen(first)).toBe(true);
    expect(Object.isFrozen(first?.n)).toBe(true);
    memo.get('bad', decode);
    memo.get('bad', decode);
    expect(decodes).toBe(3);
  });

  it('forgets the oldest texts past its size budget', () => {
    const memo = new TextMemo<string>(10);
    const { decode, count } = upperCaseDecoder();
    memo.get('aaaaa', decode);
    memo.get('bbbbb', decode);
    memo.get('ccccc', decode);
    expect(count()).toBe(3);
    memo.get('ccccc', decode);
    memo.get('bbbbb', decode);
    expect(count()).toBe(3);
    memo.get('aaaaa', decode);
    expect(count()).toBe(4);
  });

  it('primes a text ahead of its first read, once, and never one too long to remember', () => {
    const memo = new TextMemo<string>(10);
    const { decode, count } = upperCaseDecoder();
    memo.prime('abc', decode);
    memo.prime('abc', decode);
    expect(count()).toBe(1);
    expect(memo.get('abc', decode)).toBe('ABC');
    expect(count()).toBe(1);
    memo.prime('far too long', decode);
    expect(count()).toBe(1);
    expect(memo.get('far too long', decode)).toBe('FAR TOO LONG');
    expect(count()).toBe(2);
  });
});
