import { describe, expect, it } from 'vitest';
import { nestsDeeperThan } from '../../src/internal/json-depth.js';

const nested = (depth: number, inner: unknown = 1): unknown => {
  let value = inner;
  for (let level = 0; level < depth; level++) value = level % 2 === 0 ? [value] : { d: value };
  return value;
};

describe('nestsDeeperThan', () => {
  it('counts objects and arrays, not primitives', () => {
    expect(nestsDeeperThan('text', 0)).toBe(false);
    expect(nestsDeeperThan(null, 0)).toBe(false);
    expect(nestsDeeperThan({}, 0)).toBe(true);
    expect(nestsDeeperThan(nested(3), 3)).toBe(false);
    expect(nestsDeeperThan(nested(4), 3)).toBe(true);
  });

  it('finds the one deep branch among shallow ones', () => {
    expect(nestsDeeperThan({ a: 1, b: [2, { c: 3 }], d: { e: nested(5) } }, 6)).toBe(true);
    expect(nestsDeeperThan({ a: 1, b: [2, { c: 3 }], d: { e: nested(5) } }, 7)).toBe(false);
  });

  it('walks a value nested far deeper than the stack would allow', () => {
    expect(nestsDeeperThan(JSON.parse(`${'['.repeat(200_000)}${']'.repeat(200_000)}`), 512)).toBe(true);
  });
});
