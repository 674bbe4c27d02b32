import { describe, expect, it } from 'vitest';
import { randomToken } from '../../src/internal/random-token.js';

describe('randomToken', () => {
  it('gives base64url text of the asked number of bytes', () => {
    expect(randomToken(16)).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(Buffer.from(randomToken(12), 'base64url')).toHaveLength(12);
  });

  it('never hands out the same bytes twice, across pool refills', () => {
    // 16 bytes a token, 4 KiB a pool: 1,000 tokens span several refills.
    const tokens = new Set(Array.from({ length: 1000 }, () => randomToken(16)));
    expect(tokens.size).toBe(1000);
  });

  it('refuses sizes it cannot serve', () => {
    expect(() => randomToken(0)).toThrow(RangeError);
    expect(() => randomToken(5000)).toThrow(RangeError);
    expect(() => randomToken(1.5)).toThrow(RangeError);
  });
});
