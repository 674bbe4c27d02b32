import { deepFreeze } from './deep-freeze.js';

/**
 * Remembers what was decoded from a piece of text, so the same stored record read again (every
 * turn reads the session and the history) skips JSON parsing and schema validation. Bounded by
 * the total length of the remembered texts; the oldest go first. Only successful decodes are
 * kept, and values are frozen so no caller can change what another one gets.
 * @internal
 */
export class TextMemo<T> {
  readonly #entries = new Map<string, T>();
  readonly #maxChars: number;
  #chars = 0;

  constructor(maxChars: number) {
    this.#maxChars = maxChars;
  }

  /** The value decoded from `text`, computing it (and remembering it) when unknown. */
  get(text: string, decode: (text: string) => T | undefined): T | undefined {
    const known = this.#entries.get(text);
    if (known !== undefined) return known;
    const value = decode(text);
    if (value === undefined || text.length > this.#maxChars) return value;
    deepFreeze(value);
    this.#entries.set(text, value);
    this.#chars += text.length;
    for (const [oldest] of this.#entries) {
      if (this.#chars <= this.#maxChars) break;
      this.#entries.delete(oldest);
      this.#chars -= oldest.length;
    }
    return value;
  }

  /**
   * Decodes `text` ahead of its first read and remembers it; nothing when it is known already or
   * too long to remember (its decoding would be thrown away).
   */
  prime(text: string, decode: (text: string) => T | undefined): void {
    if (text.length <= this.#maxChars && !this.#entries.has(text)) this.get(text, decode);
  }
}
