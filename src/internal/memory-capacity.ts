import { LlmChatError } from '../errors.js';

/** The size bound and sweep interval of an in-process backend, as its options give them. */
export interface MemoryCapacity {
  /** The most keys kept. */
  maxEntries: number;
  /** How often expired keys are swept out, in milliseconds. */
  sweepIntervalMs: number;
}

/**
 * The memory backends' `maxEntries` and `sweepIntervalMs`, defaulted and checked alike, so a
 * typo fails when the storage is made rather than as an unbounded map or a busy timer.
 * @throws LlmChatError `CONFIG_INVALID` for a `maxEntries` that is not a positive whole number,
 *   or a `sweepIntervalMs` that is not positive.
 * @internal
 */
export function memoryCapacity(
  options: { maxEntries?: number; sweepIntervalMs?: number },
  defaultMaxEntries: number,
): MemoryCapacity {
  const { maxEntries = defaultMaxEntries, sweepIntervalMs = 60_000 } = options;
  if (!Number.isInteger(maxEntries) || maxEntries < 1) {
    throw new LlmChatError('CONFIG_INVALID', 'maxEntries must be a positive integer.');
  }
  if (!(sweepIntervalMs > 0)) throw new LlmChatError('CONFIG_INVALID', 'sweepIntervalMs must be positive.');
  return { maxEntries, sweepIntervalMs };
}
