import { describe, expect, it } from 'vitest';
import { PackedStrings } from '../../src/turns/packed-strings.js';

// Strings of every kind a token literal can be: empty, one-byte, two-byte, surrogate pairs, long.
function sample(index: number): string {
  const kinds = ['', `w${index} `, `é "q" ✓ ${index}`, `😀${index}`, 'x'.repeat(index % 7 === 0 ? 5000 : 3)];
  return kinds[index % kinds.length] as string;
}

const all = (packed: PackedStrings) => Array.from({ length: packed.length }, (_, index) => packed.at(index));

describe('PackedStrings', () => {
  it('gives back every string as pushed, before and after packing, across chunks and the tail', () => {
    const packed = new PackedStrings();
    const model: string[] = [];
    for (let index = 0; index < 300; index++) {
      packed.push(sample(index));
      model.push(sample(index));
      expect(packed.length).toBe(model.length);
      expect(packed.at(index)).toBe(model[index]);
      // Packed now and then, as runs end: full groups joined, the rest left as it is.
      if (index % 37 === 0) packed.pack();
    }
    expect(all(packed)).toEqual(model);
    packed.pack();
    expect(all(packed)).toEqual(model);
    // Every full group of 16 is joined; the last 12 of the 300 wait for more.
    expect(packed.packedLength).toBe(288);
    expect(packed.at(300)).toBeUndefined();
    expect(packed.at(-1)).toBeUndefined();
    expect(packed.at(1.5)).toBeUndefined();
  });

  it('drops from the front inside a chunk, across chunks and into the tail, as an array would', () => {
    for (const drops of [
      [1],
      [15],
      [16],
      [17],
      [63],
      [64],
      [65],
      [10, 54, 1],
      [130, 5],
      [199],
      [200],
      [500],
      [0, -3, 2.7],
    ]) {
      const packed = new PackedStrings();
      const model: string[] = [];
      for (let index = 0; index < 200; index++) {
        packed.push(sample(index));
        model.push(sample(index));
        if (index === 150) packed.pack();
      }
      expect(packed.packedLength).toBe(144);
      for (const count of drops) {
        packed.dropFirst(count);
        model.splice(0, Math.min(Math.max(0, Math.floor(count)), model.length));
      }
      expect(all(packed)).toEqual(model);
      expect(packed.packedLength).toBe(Math.max(0, 144 - (200 - model.length)));
      // And it goes on taking strings (and packing them) after the drops.
      for (let index = 200; index < 280; index++) {
        packed.push(sample(index));
        model.push(sample(index));
      }
      expect(all(packed)).toEqual(model);
      packed.pack();
      expect(all(packed)).toEqual(model);
    }
  });

  it('keeps offsets past 65,535 characters within a chunk', () => {
    const packed = new PackedStrings();
    const model = Array.from({ length: 40 }, (_, index) => `${index}`.padEnd(index % 3 === 0 ? 70_000 : 2, '·'));
    for (const text of model) packed.push(text);
    expect(packed.packedLength).toBe(0);
    packed.pack();
    expect(packed.packedLength).toBe(32);
    expect(all(packed)).toEqual(model);
  });
});
