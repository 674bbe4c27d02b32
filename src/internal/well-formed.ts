// ES2024 string methods (Node 20 has them); the project's `lib` is ES2023, so they are typed here
// rather than through a global declaration that would leak into the published types.
interface WellFormedString {
  isWellFormed(): boolean;
  toWellFormed(): string;
}

/**
 * `text` with every lone surrogate replaced by U+FFFD, or `text` itself when it has none (one
 * native scan). A lone surrogate survives `JSON.stringify` as a `\ud83d` escape that strict JSON
 * parsers refuse ("no low surrogate in string"), so text bound for a provider must not hold one.
 * Apply it to whole texts only, never to streamed pieces: a chunk may end between the two halves
 * of a pair that the next chunk completes.
 * @internal
 */
export function wellFormed(text: string): string {
  const wide = text as unknown as WellFormedString;
  return wide.isWellFormed() ? text : wide.toWellFormed();
}

/** Whether a JSON value (strings, arrays, plain objects, keys included) holds no lone surrogate. @internal */
export function isWellFormedJson(value: unknown): boolean {
  if (typeof value === 'string') return (value as unknown as WellFormedString).isWellFormed();
  if (typeof value !== 'object' || value === null) return true;
  if (Array.isArray(value)) return value.every(isWellFormedJson);
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    if (!(key as unknown as WellFormedString).isWellFormed()) return false;
    if (!isWellFormedJson((value as Record<string, unknown>)[key])) return false;
  }
  return true;
}

/**
 * A JSON value with {@link wellFormed} applied to every string and key: `value` itself when it
 * holds no lone surrogate, else a copy (plain objects and arrays rebuilt, the rest kept).
 * @internal
 */
export function wellFormedJson<T>(value: T): T {
  return isWellFormedJson(value) ? value : (rebuild(value) as T);
}

function rebuild(value: unknown): unknown {
  if (typeof value === 'string') return wellFormed(value);
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(rebuild);
  const out: Record<string, unknown> = {};
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    // defineProperty, not assignment: a `__proto__` key stays an own key, as JSON.parse made it.
    Object.defineProperty(out, wellFormed(key), {
      value: rebuild((value as Record<string, unknown>)[key]),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}
