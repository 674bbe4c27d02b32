/**
 * `{ ...base, ...extra }` for paths that run on every request or turn: the same own enumerable
 * properties, `extra`'s winning, in a new object; neither input is changed. Typed `T & U`: give
 * `extra` only new keys, or keys of the same type as `base`'s.
 *
 * Not written as a spread because of Node 20 (V8 11.3): there, adding a property to an object made
 * by a spread, in the same literal (`{ ...base, key: value }`) or right after, takes a slow runtime
 * path, about 1.1 µs for one property and 3.6 µs for two, against 0.1–0.2 µs for this (Node 22
 * and later take either in about 50 ns).
 *
 * For objects of ours only (request options, records, messages the library built): unlike a
 * spread, `Object.assign` would apply an own `__proto__` key as the copy's prototype.
 * @internal
 */
export function copyWith<T extends object, U extends object>(base: T, extra: U): T & U {
  return Object.assign({}, base, extra);
}
