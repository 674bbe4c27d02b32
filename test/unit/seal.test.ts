import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createSealer, isSealed } from '../../src/internal/seal.js';

describe('createSealer', () => {
  it('round-trips text and never shows the plaintext', () => {
    const sealer = createSealer('host secret');
    const sealed = sealer.seal('tok-ünï-🚀');
    expect(isSealed(sealed)).toBe(true);
    expect(sealed).not.toContain('tok');
    expect(sealer.open(sealed)).toBe('tok-ünï-🚀');
  });

  it('uses a new IV each time, so equal secrets do not look equal', () => {
    const sealer = createSealer('k');
    expect(sealer.seal('same')).not.toBe(sealer.seal('same'));
  });

  it('accepts a 32-byte key and refuses other lengths or an empty string', () => {
    const key = randomBytes(32);
    expect(createSealer(key).open(createSealer(new Uint8Array(key)).seal('x'))).toBe('x');
    expect(() => createSealer(randomBytes(16))).toThrowError(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(() => createSealer('')).toThrowError(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });

  it('keeps its own copy of a byte key', () => {
    const key = randomBytes(32);
    const sealer = createSealer(key);
    const sealed = sealer.seal('x');
    key.fill(0);
    expect(sealer.open(sealed)).toBe('x');
  });

  it('fails to open with another key, after tampering, or on non-sealed text', () => {
    const sealed = createSealer('one').seal('secret');
    expect(() => createSealer('two').open(sealed)).toThrow();
    const bytes = Buffer.from(sealed.slice('sealed:v1:'.length), 'base64url');
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 1;
    expect(() => createSealer('one').open(`sealed:v1:${bytes.toString('base64url')}`)).toThrow();
    expect(() => createSealer('one').open('secret')).toThrow();
    expect(() => createSealer('one').open('sealed:v1:abc')).toThrow();
  });
});
