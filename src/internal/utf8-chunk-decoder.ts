/**
 * Decodes a UTF-8 byte stream chunk by chunk, like `TextDecoder#decode(chunk, { stream: true })`,
 * but through the one-shot decode.
 *
 * Why: Node's `TextDecoder` decodes a whole buffer with simdutf, but a streaming decode goes
 * through ICU's converter, about seven times slower on a provider's chunk of ASCII JSON (90 µs
 * against 12.5 µs for 90 KB on Node 20); that was a fifth of a relayed token's parsing cost.
 * Here only the bytes of a character cut by the chunk's end wait for the next chunk; everything
 * before is decoded at once. Cutting only before a byte that starts a character gives the same
 * text as decoding the whole stream at once, malformed bytes (U+FFFD) included.
 * @internal
 */
export class Utf8ChunkDecoder {
  // A one-shot decode drops a byte order mark at the start of every call; a stream has one start.
  readonly #decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  #held: Uint8Array | undefined;
  #started = false;

  /** The text of `chunk`, less a character it cuts at its end (kept for the next chunk). */
  decode(chunk: Uint8Array): string {
    let bytes = chunk;
    if (this.#held !== undefined) {
      bytes = new Uint8Array(this.#held.length + chunk.length);
      bytes.set(this.#held);
      bytes.set(chunk, this.#held.length);
      this.#held = undefined;
    }
    const cut = cutCharacterStart(bytes);
    if (cut < bytes.length) {
      this.#held = bytes.slice(cut);
      bytes = bytes.subarray(0, cut);
    }
    return bytes.length === 0 ? '' : this.#text(bytes);
  }

  /** The text of what is still held (a cut character is U+FFFD), at the end of the stream. */
  end(): string {
    const held = this.#held;
    this.#held = undefined;
    return held === undefined ? '' : this.#text(held);
  }

  /** Decodes, dropping a byte order mark only where the stream starts (as `TextDecoder` does). */
  #text(bytes: Uint8Array): string {
    const text = this.#decoder.decode(bytes);
    if (this.#started || text.length === 0) return text;
    this.#started = true;
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  }
}

/**
 * Where the character that `bytes` ends in the middle of starts, or `bytes.length` when the
 * last character is whole. Only the last three bytes can belong to a cut character.
 */
function cutCharacterStart(bytes: Uint8Array): number {
  const length = bytes.length;
  for (let index = length - 1; index >= 0 && index >= length - 3; index--) {
    const byte = bytes[index] as number;
    // Continuation bytes (10xxxxxx) belong to a character that starts further back.
    if ((byte & 0xc0) === 0x80) continue;
    const size = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return length - index < size ? index : length;
  }
  return length;
}
