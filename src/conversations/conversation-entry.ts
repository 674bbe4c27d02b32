import { z } from 'zod';
import type { ConversationSummary } from './conversation-backend.js';
import { MAX_DATE_MS } from './query-time.js';

/**
 * One conversation's stored entry, compact because a user's whole list is read at once:
 * `t` title, `c` created, `u` updated, `n` turns, `e` expires (ms since the epoch).
 * @internal
 */
export interface ConversationEntry {
  t: string;
  c: number;
  u: number;
  n: number;
  e: number;
}

// The times a Date can hold: an entry with another is junk (its list would fail to print it).
const time = z.number().min(-MAX_DATE_MS).max(MAX_DATE_MS);

const entrySchema = z.object({
  t: z.string(),
  c: time,
  u: time,
  n: z.number().int().nonnegative(),
  e: z.number().finite(),
});

/**
 * Parses a stored entry; `undefined` for anything corrupt (junk written to the storage must
 * not hide the rest of the list).
 * @internal
 */
export function parseConversationEntry(raw: string | null | undefined): ConversationEntry | undefined {
  if (typeof raw !== 'string') return undefined;
  try {
    const parsed = entrySchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** The public summary of an entry. @internal */
export function toSummary(conversationId: string, entry: ConversationEntry): ConversationSummary {
  return { conversationId, title: entry.t, createdAt: entry.c, updatedAt: entry.u, turns: entry.n };
}

/** The entry after one more turn at `at` (a new one when `previous` is absent). @internal */
export function nextEntry(
  previous: ConversationEntry | undefined,
  options: { title: string; at: number; ttlMs: number },
): ConversationEntry {
  const expires = options.at + options.ttlMs;
  if (previous === undefined) return { t: options.title, c: options.at, u: options.at, n: 1, e: expires };
  // Clocks of several processes disagree a little: an entry never moves back in time.
  return {
    t: previous.t,
    c: previous.c,
    u: Math.max(previous.u, options.at),
    n: previous.n + 1,
    e: Math.max(previous.e, expires),
  };
}
