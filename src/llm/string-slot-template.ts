import { detachedString } from '../internal/detached-string.js';

/**
 * Reads one string out of stream chunks without parsing them, once a chunk has shown where it is.
 *
 * Providers stream an answer as hundreds of JSON objects that are the same text except for the
 * few characters of the token: `{"id":"chatcmpl-1",…,"delta":{"content":"Hel"},…}`. Parsing each
 * one was the largest single cost of relaying a long answer (about a quarter of the server's CPU
 * per token). This template learns, from a chunk that was parsed, the text before and after the
 * token's string literal; a later chunk with the same text around a valid string literal is,
 * token for token, the same JSON with only that string changed, so the string is all there is to
 * read. Anything else (another shape, a literal that is not one valid JSON string) is left to the
 * caller's full parse, so the result is always what `JSON.parse` would have given.
 *
 * Why the learned position is sound: the key marker (`"content":"`) cannot occur inside a JSON
 * string (its inner quotes would need backslashes), so each occurrence starts a string value of
 * that key; a probe parse with that one literal replaced must change the slot to the probe, so it
 * is the literal the slot is read from (not a duplicate key or another object's field). The probe
 * runs when a later chunk first matches: a template no chunk matches (a provider's first chunk
 * with the role, one that changes other fields per chunk) costs no parse, and neither does the
 * first token.
 * @internal
 */
export class StringSlotTemplate {
  readonly #marker: string;
  readonly #readSlot: (parsed: Record<string, unknown>) => unknown;
  readonly #maxFruitless: number;
  #prefix = '';
  #suffix = '';
  /** `candidate`: learned, not yet probed; `proven`: probed, read without parsing. */
  #state: 'none' | 'candidate' | 'proven' = 'none';
  #hits = 0;
  #fruitless = 0;
  /** A chunk to learn from, kept until the next one comes (see {@link learn}). */
  #lesson: Lesson | undefined;

  /**
   * @param marker - the text that opens the slot's literal, ending with its opening quote
   *   (`"content":"`).
   * @param readSlot - where the slot is in a parsed chunk (the same lookup the full parse uses).
   * @param maxFruitless - templates learned in a row that never matched a later chunk before the
   *   template stops learning: a provider that changes other fields per chunk (a random padding
   *   field, a per-chunk id) would otherwise cost a scan and two copies of every chunk.
   */
  constructor(marker: string, readSlot: (parsed: Record<string, unknown>) => unknown, maxFruitless = 3) {
    this.#marker = marker;
    this.#readSlot = readSlot;
    this.#maxFruitless = maxFruitless;
  }

  /** The slot's string when `data` is the learned chunk with only the slot changed; else `undefined`. */
  read(data: string): string | undefined {
    if (this.#lesson !== undefined) this.#study(this.#lesson);
    if (this.#state === 'none') return undefined;
    const prefix = this.#prefix;
    const suffix = this.#suffix;
    const end = data.length - suffix.length;
    // Compared as slices, not with `startsWith`: on Node 20 to 24 that took 450-750 ns here for
    // a 180-character prefix of the SSE parser's sliced strings, the largest cost of relaying a
    // token; comparing a slice with `===` takes a small part of it.
    if (end < prefix.length || data.slice(0, prefix.length) !== prefix || data.slice(end) !== suffix) return undefined;
    if (this.#state === 'candidate' && !this.#prove()) return undefined;
    const body = data.slice(prefix.length, end);
    let value: string;
    if (!NEEDS_DECODING.test(body)) value = body;
    else {
      // Escapes (or a quote or control character, which make it no literal at all): JSON's own
      // reading decides; a body that is not exactly one valid string goes to the full parse.
      try {
        value = JSON.parse(`"${body}"`) as string;
      } catch {
        return undefined;
      }
    }
    this.#hits++;
    return value;
  }

  /**
   * Learns where the slot is from a chunk the caller parsed in full, when everything of that
   * chunk but the slot is something the caller may safely take as read again (no other event,
   * no state change).
   *
   * Every chunk must go to {@link read} before it is learned from (as `withTemplatedText`
   * does): the lesson is only noted here and studied when the next chunk is read, and a second
   * lesson before that replaces the first. Learning scans the chunk and copies its two ends: this
   * way a network read whose last chunk carries the answer's first token does not wait for that
   * before the token goes out, and a stream that ends first never pays for it.
   */
  learn(data: string, parsed: Record<string, unknown>): void {
    // A template that stopped learning keeps nothing: a lesson holds the network read it was cut from.
    if (this.#fruitless >= this.#maxFruitless) return;
    this.#lesson = { data, parsed };
  }

  #study({ data, parsed }: Lesson): void {
    this.#lesson = undefined;
    const value = this.#readSlot(parsed);
    // A chunk whose slot is empty (the role chunk that opens a stream) seldom has the shape of the
    // chunks that carry text: it teaches nothing, and what was learned before stays.
    if (value === '') return;
    if (this.#state !== 'none') this.#fruitless = this.#hits === 0 ? this.#fruitless + 1 : 0;
    this.#state = 'none';
    this.#hits = 0;
    if (this.#fruitless >= this.#maxFruitless) return;
    if (typeof value !== 'string' || value === PROBE) return;
    const at = data.lastIndexOf(this.#marker);
    if (at < 0) return;
    const start = at + this.#marker.length;
    const end = closingQuote(data, start);
    if (end < 0) return;
    // Kept for the rest of the stream: copies, not views that would keep the whole read alive.
    this.#prefix = detachedString(data.slice(0, start));
    this.#suffix = detachedString(data.slice(end));
    this.#state = 'candidate';
  }

  /** Whether the learned literal is the slot: replaced by the probe, the slot must read the probe. */
  #prove(): boolean {
    let probed: unknown;
    try {
      probed = JSON.parse(this.#prefix + PROBE_LITERAL_BODY + this.#suffix);
    } catch {
      probed = undefined;
    }
    const proven =
      typeof probed === 'object' && probed !== null && this.#readSlot(probed as Record<string, unknown>) === PROBE;
    if (!proven) {
      this.#fruitless++;
      this.#state = 'none';
      return false;
    }
    this.#state = 'proven';
    return true;
  }
}

/** A chunk to learn from and its parse, as {@link StringSlotTemplate.learn} was given them. */
interface Lesson {
  data: string;
  parsed: Record<string, unknown>;
}

// A string body that JSON reads without any help: no quote, backslash or control character.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding raw control characters is the point (JSON forbids them in strings).
const NEEDS_DECODING = /["\\\u0000-\u001f]/;
// A value no provider sends, written with escapes so the probe also exercises decoding.
const PROBE = '\u0001slot\u0002';
const PROBE_LITERAL_BODY = '\\u0001slot\\u0002';

/** Index of the quote that closes the string literal whose body starts at `start`, or -1. */
function closingQuote(text: string, start: number): number {
  for (let index = start; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code === 0x5c) index++;
    else if (code === 0x22) return index;
  }
  return -1;
}
