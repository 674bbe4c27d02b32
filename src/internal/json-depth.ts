/**
 * How deep a value read back from storage may nest. `JSON.parse` takes any depth, but
 * `JSON.stringify`, freezing and the code that walks such a value recurse, and overflow the stack
 * a few thousand levels down: a value nested deeper than this is treated as corrupt where it is
 * read, instead of throwing a `RangeError` later from wherever it is used. Tool schemas and
 * transcripts nest a few dozen levels at most.
 * @internal
 */
export const MAX_STORED_DEPTH = 512;

/**
 * Whether `value` (as `JSON.parse` made it: objects, arrays and primitives, no cycles) nests
 * deeper than `maxDepth` objects and arrays. Walks without recursion, so any depth is safe.
 * @internal
 */
export function nestsDeeperThan(value: unknown, maxDepth: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const pending: Array<{ value: object; depth: number }> = [{ value, depth: 1 }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    if (next.depth > maxDepth) return true;
    for (const item of Object.values(next.value)) {
      if (typeof item === 'object' && item !== null) pending.push({ value: item, depth: next.depth + 1 });
    }
  }
  return false;
}
