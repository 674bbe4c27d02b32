import { describe, expect, it } from 'vitest';
import { MemoryUsageBackend } from '../../src/usage/memory-usage-backend.js';
import { UsageLedger } from '../../src/usage/usage-ledger.js';

describe('UsageLedger options', () => {
  // A NaN TTL reached Redis's PEXPIRE after the counters were added: every write failed half done.
  it.each([
    ['dayRetentionMs NaN', { dayRetentionMs: Number.NaN }],
    ['retentionMs 0', { retentionMs: 0 }],
    ['retentionMs Infinity', { retentionMs: Number.POSITIVE_INFINITY }],
  ])('refuses %s with CONFIG_INVALID', (_name, options) => {
    expect(() => new UsageLedger(new MemoryUsageBackend(), options)).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
  });
});
