import { describe, expect, it } from 'vitest';
import { titleFromMessage } from '../../src/conversations/conversation-title.js';

const FAMILY = '👨\u200d👩\u200d👧\u200d👦';

describe('titleFromMessage: invisible and joined characters', () => {
  it('drops bidi controls and zero-width characters, and skips a line of nothing else', () => {
    // U+202E would draw the rest reversed: "safe exe.png".
    expect(titleFromMessage('safe \u202egnp.exe\u200b')).toBe('safe gnp.exe');
    expect(titleFromMessage('\u2066a\u2069 \u200eb\u200f \ufeffc\u2060de\u061c')).toBe('a b cde');
    // The zero-width non-joiner is part of how Persian is written: it stays.
    expect(titleFromMessage('\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645')).toBe(
      '\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645',
    );
    // Glue that joins no emoji goes, and leaves no doubled or leading space behind.
    expect(titleFromMessage('\u200d x \u200d y\u200d')).toBe('x y');
    expect(titleFromMessage('\u200b\u202e\u200d\n  real title')).toBe('real title');
    expect(titleFromMessage('\u2067\u200b')).toBe('New conversation');
  });

  it('keeps emoji sequences, flags and accents whole, when kept and when cut', () => {
    expect(titleFromMessage(`family ${FAMILY} 👍🏽 🇫🇷`)).toBe(`family ${FAMILY} 👍🏽 🇫🇷`);
    expect(titleFromMessage(`${'x'.repeat(78)}${FAMILY}`)).toBe(`${'x'.repeat(78)}…`);
    expect(titleFromMessage('🇫🇷'.repeat(50), 10)).toBe(`${'🇫🇷'.repeat(4)}…`);
    expect(titleFromMessage('👍🏽'.repeat(50), 10)).toBe(`${'👍🏽'.repeat(4)}…`);
    expect(titleFromMessage('e\u0301'.repeat(50), 10)).toBe(`${'e\u0301'.repeat(4)}…`);
    // Still within the limit on a megabyte of junk: one letter under a million accents, or glue
    // in front of the one visible character.
    expect(Array.from(titleFromMessage(`a${'\u0301'.repeat(1 << 20)}`)).length).toBeLessThanOrEqual(80);
    expect(titleFromMessage(`${' \u200d'.repeat(1 << 19)}x`)).toBe('x');
  });
});
