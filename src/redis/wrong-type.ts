/** Whether Redis refused a command because its key holds another type (`WRONGTYPE`). @internal */
export function isWrongType(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('WRONGTYPE');
}

/**
 * A key holding another type than the one read (junk written by someone else) reads as absent,
 * as the memory backends read it, instead of failing every read as an unavailable storage; other
 * failures pass on. For `.catch` on a command's promise.
 * @internal
 */
export function noneOfWrongType<T>(none: T): (error: unknown) => T {
  return (error) => {
    if (isWrongType(error)) return none;
    throw error;
  };
}
