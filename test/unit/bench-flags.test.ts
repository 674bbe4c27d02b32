import { describe, expect, it } from 'vitest';
import { numberFlag } from '../../bench/lib/flags.js';

describe('numberFlag (bench scripts)', () => {
  it('reads the positive number after the flag', () => {
    expect(numberFlag('--streams', 100, ['--quick', '--streams', '40'])).toBe(40);
    expect(numberFlag('--rounds', 7, ['--rounds', '2.5'])).toBe(2.5);
  });

  it('falls back when the flag is absent, or not followed by a positive number', () => {
    expect(numberFlag('--streams', 100, ['--tokens', '5'])).toBe(100);
    for (const value of ['abc', '0', '-3', 'Infinity']) {
      expect(numberFlag('--streams', 100, ['--streams', value])).toBe(100);
    }
    expect(numberFlag('--streams', 100, ['--streams'])).toBe(100);
  });
});
