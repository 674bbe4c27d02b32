/**
 * Freezes `value` and everything reachable through its own enumerable properties, so one decoded
 * value can be handed to many callers without any of them changing what another one reads.
 * @internal
 */
export function deepFreeze(value: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const item of Object.values(value)) deepFreeze(item);
}
