import { describe, expect, it } from 'vitest';
import { Utf8ChunkDecoder } from '../../src/internal/utf8-chunk-decoder.js';

/** A small seeded generator, so a failure names the seed that reproduces it. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function decodeInChunks(bytes: Uint8Array, cuts: number[]): string {
  const decoder = new Utf8ChunkDecoder();
  let text = '';
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    text += decoder.decode(bytes.subarray(from, cut));
    from = cut;
  }
  return text + decoder.end();
}

describe('Utf8ChunkDecoder', () => {
  it('gives the text of the whole stream wherever the chunks cut it, characters of every size', () => {
    const bytes = new TextEncoder().encode('a é € 😀 ü\u{10FFFF} z');
    for (let first = 0; first <= bytes.length; first++) {
      for (let second = first; second <= bytes.length; second++) {
        expect(decodeInChunks(bytes, [first, second])).toBe('a é € 😀 ü\u{10FFFF} z');
      }
    }
  });

  it('replaces malformed bytes exactly as one decode of the whole stream does, wherever it is cut', () => {
    const pieces = [
      0x61, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80, 0x80, 0xbf, 0xc0, 0xe0, 0xf5, 0xff, 0xed, 0xa0,
    ];
    for (let seed = 1; seed <= 300; seed++) {
      const next = random(seed);
      const bytes = Uint8Array.from(
        { length: 1 + Math.floor(next() * 24) },
        () => pieces[Math.floor(next() * pieces.length)] as number,
      );
      const cuts = Array.from({ length: Math.floor(next() * 5) }, () => Math.floor(next() * (bytes.length + 1))).sort(
        (a, b) => a - b,
      );
      const whole = new TextDecoder().decode(bytes);
      expect({ seed, text: decodeInChunks(bytes, cuts) }).toEqual({ seed, text: whole });
    }
  });

  it('drops a byte order mark only at the start of the stream, wherever the chunks cut it', () => {
    const bom = [0xef, 0xbb, 0xbf];
    const bytes = Uint8Array.from([...bom, 0x61, ...bom, 0x62, ...bom]);
    const whole = new TextDecoder().decode(bytes);
    expect(whole).toBe('a\uFEFFb\uFEFF');
    for (let first = 0; first <= bytes.length; first++) {
      for (let second = first; second <= bytes.length; second++) {
        expect({ first, second, text: decodeInChunks(bytes, [first, second]) }).toEqual({ first, second, text: whole });
      }
    }
  });

  it('keeps only the cut character back, and gives it at the end as U+FFFD when the stream stops there', () => {
    const decoder = new Utf8ChunkDecoder();
    expect(decoder.decode(Uint8Array.of(0x61, 0x62, 0xe2, 0x82))).toBe('ab');
    expect(decoder.decode(Uint8Array.of(0xac, 0x63))).toBe('€c');
    expect(decoder.decode(Uint8Array.of(0xf0, 0x9f))).toBe('');
    expect(decoder.end()).toBe('\uFFFD');
    expect(decoder.end()).toBe('');
  });
});
