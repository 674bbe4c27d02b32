/**
 * The body length a `Content-Length` value declares, or `undefined` when there is none or it is
 * not a plain whole number (at most 15 digits, so it stays exact as a JS number).
 * @internal
 */
export function declaredLength(value: string | null | undefined): number | undefined {
  return value != null && /^\d{1,15}$/.test(value) ? Number(value) : undefined;
}
