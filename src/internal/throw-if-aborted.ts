/**
 * Throws the abort reason of `signal` when it has aborted (a `DOMException` `AbortError` when the
 * reason is empty), the way `AbortSignal.throwIfAborted` does, for signals that may be absent
 * (or an `AbortSource`).
 * @internal
 */
export function throwIfAborted(signal: { readonly aborted: boolean; readonly reason: unknown } | undefined): void {
  if (signal?.aborted) throw signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}
