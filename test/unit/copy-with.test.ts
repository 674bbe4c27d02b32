import { describe, expect, it } from 'vitest';
import { copyWith } from '../../src/internal/copy-with.js';

describe('copyWith', () => {
  it('is a new object with the base own enumerable properties, the extra ones winning', () => {
    const base = { a: 1, b: 'two', shared: 'base' };
    const extra = { shared: 'extra', c: true };
    const copy = copyWith(base, extra);
    expect(copy).toEqual({ a: 1, b: 'two', shared: 'extra', c: true });
    expect(copy).not.toBe(base);
    expect(Object.keys(copy)).toEqual(['a', 'b', 'shared', 'c']);
  });

  it('changes neither input, and leaves what the base inherits behind', () => {
    const proto = { inherited: 1 };
    const base = Object.assign(Object.create(proto) as { own: number }, { own: 2 });
    const extra = { added: 3 };
    const copy = copyWith(base, extra);
    expect(copy).toEqual({ own: 2, added: 3 });
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(base).toEqual({ own: 2 });
    expect(extra).toEqual({ added: 3 });
  });

  it('copies an undefined value in extra as a property, like a spread', () => {
    const copy: { a?: number } = copyWith<{ a?: number }, { a?: number }>({ a: 1 }, { a: undefined });
    expect(Object.hasOwn(copy, 'a')).toBe(true);
    expect(copy.a).toBeUndefined();
  });
});
