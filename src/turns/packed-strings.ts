/** How many strings are joined into one chunk. */
const CHUNK = 16;

/**
 * A list of short strings that holds each full group of {@link CHUNK} as one flat string and the
 * offsets where each ends (two UTF-16 code units an offset, in a string of their own): about 5
 * bytes a string on top of its characters, where a string of its own in an array costs a header
 * and a slot, 20–24 bytes. A streamed answer's token literals are kept this way for as long as
 * its turn's log is kept (minutes after it ended).
 *
 * Strings are added at the end, kept as they are until {@link pack} joins them (a streamed run of
 * tokens is packed once it is over: joining while it streams would make each token garbage the
 * young generation has already promoted), and dropped from the front; {@link at} gives back
 * exactly what was pushed (a slice of its chunk, for the caller to use and drop).
 * @internal
 */
export class PackedStrings {
  /** Each full group joined, oldest first. */
  readonly #chunks: string[] = [];
  /** For each chunk, where each of its strings ends: a 32-bit offset as two code units. */
  readonly #ends: string[] = [];
  /** The strings not packed yet (after {@link pack}, fewer than a full group). */
  #tail: string[] = [];
  /** Strings dropped from the front of the first chunk. */
  #dropped = 0;

  /** How many strings are held. */
  get length(): number {
    return this.#chunks.length * CHUNK - this.#dropped + this.#tail.length;
  }

  /** How many of them are joined into chunks (the rest wait for {@link pack}). */
  get packedLength(): number {
    return this.#chunks.length * CHUNK - this.#dropped;
  }

  push(text: string): void {
    this.#tail.push(text);
  }

  /** Joins every full group of the strings pushed since the last pack. */
  pack(): void {
    const tail = this.#tail;
    let from = 0;
    for (; from + CHUNK <= tail.length; from += CHUNK) {
      const group = tail.slice(from, from + CHUNK);
      const codes: number[] = [];
      let end = 0;
      for (const item of group) {
        end += item.length;
        codes.push(end >>> 16, end & 0xffff);
      }
      this.#chunks.push(group.join(''));
      this.#ends.push(String.fromCharCode(...codes));
    }
    if (from > 0) this.#tail = tail.slice(from);
  }

  /** The string at `index` (0 is the oldest held), or `undefined` past the end. */
  at(index: number): string | undefined {
    if (!Number.isInteger(index) || index < 0) return undefined;
    const position = index + this.#dropped;
    const chunk = Math.floor(position / CHUNK);
    if (chunk >= this.#chunks.length) return this.#tail[position - this.#chunks.length * CHUNK];
    const ends = this.#ends[chunk] as string;
    const within = position % CHUNK;
    const start = within === 0 ? 0 : offsetAt(ends, within - 1);
    return (this.#chunks[chunk] as string).slice(start, offsetAt(ends, within));
  }

  /** Drops the `count` oldest strings (all of them when `count` is at least {@link length}). */
  dropFirst(count: number): void {
    let left = Math.min(Math.max(0, Math.floor(count)), this.length);
    while (left > 0 && this.#chunks.length > 0) {
      const inFirst = CHUNK - this.#dropped;
      if (left < inFirst) {
        this.#dropped += left;
        return;
      }
      this.#chunks.shift();
      this.#ends.shift();
      this.#dropped = 0;
      left -= inFirst;
    }
    if (left > 0) this.#tail.splice(0, left);
  }
}

/** The offset stored at `index` of an ends string. */
function offsetAt(ends: string, index: number): number {
  return ends.charCodeAt(index * 2) * 0x10000 + ends.charCodeAt(index * 2 + 1);
}
