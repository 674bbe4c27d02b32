import { PackedStrings } from './packed-strings.js';
import type { TurnLogEntry } from './turn-backend.js';

/** How `TurnLog` writes a token event; such payloads are kept as their text's JSON literal alone. */
const TOKEN_PREFIX = '{"e":"token","d":{"content":';
const TOKEN_SUFFIX = '}}';

/** Entries of consecutive seqs: token literals (packed, see `PackedStrings`) or whole payloads. */
type Run = { first: number; tokens: true; items: PackedStrings } | { first: number; tokens: false; items: string[] };

/**
 * One turn's stored event log, held compactly by the memory turn backend: a log is kept for
 * minutes after its turn ended (for resume and idempotent retries), and an entry object with its
 * serialized event cost about 150 bytes a streamed token. Entries of consecutive seqs share one
 * run (a seq is the run's first plus the position), and a token event written the way `TurnLog`
 * writes it keeps only its text's JSON literal, put back between the same prefix and suffix when
 * read, and once another run follows, a run's literals are joined 16 at a time: about 5 bytes a
 * token besides its literal's characters. Every payload reads back exactly as it was appended.
 * @internal
 */
export class CompactLog {
  readonly #runs: Run[] = [];
  #size = 0;

  /** How many entries are held. */
  get size(): number {
    return this.#size;
  }

  /** The seq of the newest entry, or 0 when empty. */
  get lastSeq(): number {
    const run = this.#runs.at(-1);
    return run === undefined ? 0 : run.first + run.items.length - 1;
  }

  /** Adds an entry after the newest one (the caller checks that `seq` is higher). */
  push(seq: number, payload: string): void {
    const literal = tokenLiteralOf(payload);
    const tokens = literal !== undefined;
    const last = this.#runs.at(-1);
    // A seq that is not a whole number (from a caller outside TurnLog) gets a run of its own.
    const extendsLast =
      last !== undefined &&
      last.tokens === tokens &&
      Number.isSafeInteger(seq) &&
      last.first + last.items.length === seq;
    // A token run is packed once another run follows it (a tool call, the final event).
    if (!extendsLast && last?.tokens) last.items.pack();
    if (literal !== undefined) {
      if (extendsLast && last.tokens) last.items.push(literal);
      else {
        const items = new PackedStrings();
        items.push(literal);
        this.#runs.push({ first: seq, tokens: true, items });
      }
    } else if (extendsLast && !last.tokens) last.items.push(payload);
    else this.#runs.push({ first: seq, tokens: false, items: [payload] });
    this.#size++;
  }

  /** Drops the oldest entries until at most `maxEntries` remain. */
  keepNewest(maxEntries: number): void {
    // As the array this replaced: a bound that is not a number keeps everything, a fraction counts down.
    let excess = this.#size - Math.max(0, Math.floor(maxEntries));
    while (excess > 0) {
      const oldest = this.#runs[0] as Run;
      if (oldest.items.length <= excess) {
        this.#runs.shift();
        excess -= oldest.items.length;
        this.#size -= oldest.items.length;
      } else {
        if (oldest.tokens) oldest.items.dropFirst(excess);
        else oldest.items.splice(0, excess);
        oldest.first += excess;
        this.#size -= excess;
        excess = 0;
      }
    }
  }

  /** Up to `limit` entries after `afterSeq`, oldest first, as fresh objects. */
  read(afterSeq: number, limit: number): TurnLogEntry[] {
    const out: TurnLogEntry[] = [];
    for (const run of this.#runs) {
      if (run.first + run.items.length - 1 <= afterSeq) continue;
      // By position, so that any afterSeq (a fraction, NaN: everything) reads as the array did.
      const from = afterSeq >= run.first ? Math.floor(afterSeq - run.first) + 1 : 0;
      for (let index = from; index < run.items.length; index++) {
        if (out.length >= limit) return out;
        out.push({ seq: run.first + index, payload: payloadOf(run, index) });
      }
    }
    return out;
  }

  /** The newest entry, as a fresh object. */
  last(): TurnLogEntry | undefined {
    const run = this.#runs.at(-1);
    if (run === undefined) return undefined;
    const index = run.items.length - 1;
    return { seq: run.first + index, payload: payloadOf(run, index) };
  }
}

function payloadOf(run: Run, index: number): string {
  return run.tokens ? TOKEN_PREFIX + (run.items.at(index) as string) + TOKEN_SUFFIX : (run.items[index] as string);
}

/**
 * The JSON literal of a token payload's text, as a string of its own; `undefined` for any other
 * payload, or one that would not read back the same from its literal.
 */
function tokenLiteralOf(payload: string): string | undefined {
  if (!payload.startsWith(TOKEN_PREFIX) || !payload.endsWith(TOKEN_SUFFIX)) return undefined;
  const literal = payload.slice(TOKEN_PREFIX.length, payload.length - TOKEN_SUFFIX.length);
  if (literal.charCodeAt(0) !== 34 /* " */) return undefined;
  let text: unknown;
  try {
    text = JSON.parse(literal);
  } catch {
    return undefined;
  }
  if (typeof text !== 'string') return undefined;
  // Written afresh: a slice of the payload would keep the whole payload alive. A literal that
  // reads back other than it was written (other escapes than JSON.stringify's) is not compacted.
  const fresh = JSON.stringify(text);
  return fresh === literal ? fresh : undefined;
}
