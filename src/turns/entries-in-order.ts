import { LlmChatError } from '../errors.js';
import type { TurnLogEntry } from './turn-backend.js';

/**
 * Throws `BAD_REQUEST` unless `entries` move strictly forward, from past `afterSeq` when given.
 * Backends check a batch whole before writing any of it, so a refused append leaves the log as
 * it was instead of keeping the entries before the bad one.
 * @internal
 */
export function assertEntriesInOrder(entries: readonly TurnLogEntry[], afterSeq?: number): void {
  let last = afterSeq ?? Number.NEGATIVE_INFINITY;
  for (const entry of entries) {
    if (!(entry.seq > last)) throw entriesOutOfOrder();
    last = entry.seq;
  }
}

/** The refusal of an append that does not move the log forward. @internal */
export function entriesOutOfOrder(): LlmChatError {
  return new LlmChatError('BAD_REQUEST', 'Event log entries must be appended in order.');
}
