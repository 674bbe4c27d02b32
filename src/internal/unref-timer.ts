/**
 * Lets the process exit while `timer` is pending. Works with Node, Bun and Deno timers; a runtime
 * whose timers have no `unref` (browsers) needs nothing.
 * @internal
 */
export function unrefTimer(timer: unknown): void {
  (timer as { unref?: () => void } | undefined)?.unref?.();
}
