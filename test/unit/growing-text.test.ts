import { describe, expect, it } from 'vitest';
import { GrowingText } from '../../src/internal/growing-text.js';

describe('GrowingText', () => {
  it('returns the whole text after every append, through many flattenings', () => {
    const growing = new GrowingText();
    let expected = '';
    for (let i = 0; i < 5_000; i++) {
      const piece = i % 7 === 0 ? 'héllo ✓ ' : `w${i} `;
      expected += piece;
      expect(growing.append(piece)).toBe(expected);
    }
    expect(growing.text).toBe(expected);
    expect(growing.text.length).toBe(expected.length);
  });

  it('starts from the text it is given (an answer that goes on after a seam)', () => {
    const growing = new GrowingText('Once upon');
    expect(growing.text).toBe('Once upon');
    expect(growing.append(' a time')).toBe('Once upon a time');
  });

  it('keeps text that reads as a number as text', () => {
    const growing = new GrowingText();
    for (let i = 0; i < 100; i++) growing.append(String(i % 10));
    expect(growing.text).toBe('0123456789'.repeat(10));
    expect(typeof growing.text).toBe('string');
  });
});
