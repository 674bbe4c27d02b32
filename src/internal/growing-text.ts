/** Appends between two flattenings, at least: short answers are never copied. */
const MIN_APPENDS = 16;
/** Flatten once the appends since the last time reach the length over this: about 64 characters copied an append. */
const CHARS_PER_APPEND = 64;

/**
 * Text that grows by appends (an answer streamed token by token), kept close to one flat string.
 *
 * V8 stores `a + b` as a node of its own pointing at both parts, so an answer built with `+=`
 * from 1,000 streamed tokens is a tree of 1,000 nodes over 1,000 small strings: about 60 KB of
 * heap for 7 KB of text on Node 20, 22 and 24, held for as long as the turn runs (and twice, by
 * the chat loop and by the running turn). Every so often this makes the string flat in place
 * (see {@link flatten}): about 15 KB for the same answer, and appending got faster too (less for
 * the collector to trace). How often keeps the copying to about 64 characters an append,
 * whatever the length.
 * @internal
 */
export class GrowingText {
  #text: string;
  #appends = 0;

  constructor(text = '') {
    this.#text = text;
  }

  /** The text so far. */
  get text(): string {
    return this.#text;
  }

  /** Appends `addition` and returns the whole text. */
  append(addition: string): string {
    const text = this.#text + addition;
    this.#text = text;
    this.#appends++;
    if (this.#appends >= MIN_APPENDS && this.#appends * CHARS_PER_APPEND >= text.length) {
      this.#appends = 0;
      flatten(text);
    }
    return text;
  }
}

/**
 * Makes V8 hold `text` as one flat string from now on (the pieces it was joined from can go).
 * Converting a string to a number reads it flat, and V8 flattens a joined string in place to do
 * so (Node 20 to 24); the conversion itself gives up at the first character that cannot be part
 * of a number. Where an engine does otherwise, this costs a scan and changes nothing.
 */
function flatten(text: string): void {
  Number(text);
}
