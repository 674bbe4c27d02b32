import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { LlmChatError } from '../errors.js';

/** Encrypts and decrypts short secrets with one key. */
export interface Sealer {
  /** Encrypts `plaintext`; a new random IV each call, so equal inputs seal differently. */
  seal(plaintext: string): string;
  /** Decrypts a value made by {@link Sealer.seal} with the same key; throws on any other input. */
  open(sealed: string): string;
}

// A version tag, so a future format change can still open old records.
const PREFIX = 'sealed:v1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** True when `value` looks like the output of {@link Sealer.seal}. */
export function isSealed(value: string): boolean {
  return value.startsWith(PREFIX);
}

/**
 * Creates a {@link Sealer} using AES-256-GCM. The key is either exactly 32 bytes, or a string
 * (a passphrase or a host secret) whose SHA-256 digest becomes the key. GCM authenticates the
 * ciphertext, so a value sealed with another key, or tampered with, fails to open.
 *
 * @throws LlmChatError `CONFIG_INVALID` for an empty string or a byte key that is not 32 bytes.
 * @example
 * const sealer = createSealer(hostSecret);
 * const stored = sealer.seal('my-token'); // 'sealed:v1:…'
 * sealer.open(stored); // 'my-token'
 */
export function createSealer(key: string | Uint8Array): Sealer {
  const keyBytes = toKeyBytes(key);
  return {
    seal(plaintext) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', keyBytes, iv);
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
    },
    open(sealed) {
      if (!isSealed(sealed)) throw new Error('Not a sealed value.');
      const raw = Buffer.from(sealed.slice(PREFIX.length), 'base64url');
      if (raw.length < IV_BYTES + TAG_BYTES) throw new Error('Sealed value is truncated.');
      const decipher = createDecipheriv('aes-256-gcm', keyBytes, raw.subarray(0, IV_BYTES));
      decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
    },
  };
}

function toKeyBytes(key: string | Uint8Array): Buffer {
  if (typeof key === 'string') {
    if (key.length === 0) throw new LlmChatError('CONFIG_INVALID', 'sealKey must not be empty.');
    return createHash('sha256').update(key, 'utf8').digest();
  }
  if (key.byteLength !== 32) throw new LlmChatError('CONFIG_INVALID', 'sealKey must be 32 bytes or a string.');
  // Copy, so a host that later zeroes or reuses its buffer does not change our key.
  return Buffer.from(key);
}
