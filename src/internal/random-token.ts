import { randomFillSync } from 'node:crypto';

// One call into the CSPRNG per 4 KiB instead of one per token: `randomBytes(16)` pays the
// native call's fixed cost on every lock taken (as `crypto.randomUUID()` avoids with its cache).
const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let offset = POOL_BYTES;

/**
 * `bytes` fresh random bytes from the CSPRNG, as base64url text: each byte is handed out once.
 * @internal
 */
export function randomToken(bytes: number): string {
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > POOL_BYTES) throw new RangeError('bytes out of range');
  if (offset + bytes > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const token = pool.toString('base64url', offset, offset + bytes);
  offset += bytes;
  return token;
}
