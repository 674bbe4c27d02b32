import { describe, expect, it } from 'vitest';
import { detachedString } from '../../src/internal/detached-string.js';

describe('detachedString', () => {
  it('copies every UTF-16 code unit exactly, lone surrogates, controls and quotes included', () => {
    const texts = [
      '',
      'plain',
      'quote " and backslash \\',
      '\u0000\u001f\u007f',
      '\ud800 lone',
      'pair \ud83d\ude00',
      'x'.repeat(5000),
    ];
    for (const text of texts) {
      const copy = detachedString(text);
      expect(copy).toBe(text);
      expect(copy.length).toBe(text.length);
      expect([...copy].map((c) => c.codePointAt(0))).toEqual([...text].map((c) => c.codePointAt(0)));
    }
  });

  it('copies a slice of a larger string', () => {
    const whole = `data: ${JSON.stringify({ id: 'chatcmpl-1', choices: [{ delta: { content: 'Hi' } }] })}\n\n`.repeat(
      20,
    );
    const slice = whole.slice(6, 200);
    expect(detachedString(slice)).toBe(slice);
  });
});
