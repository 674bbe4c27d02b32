/**
 * `error`, or a copy in which `mask` rewrote the message of the error or of one of its causes
 * (how far down: five causes). A copy keeps the name and `code` of what it copies; its stack is
 * its own, so text the original's stack quoted is gone. Errors `mask` leaves alone are returned as
 * they are, so a chain that quotes no secret keeps its stacks.
 * @internal
 */
export function maskErrorChain(error: unknown, mask: (text: string) => string, depth = 0): unknown {
  if (!(error instanceof Error) || depth > 4) return error;
  const cause = (error as { cause?: unknown }).cause;
  const maskedCause = cause === undefined ? undefined : maskErrorChain(cause, mask, depth + 1);
  const message = mask(error.message);
  if (message === error.message && maskedCause === cause) return error;
  const copy = new Error(message, maskedCause === undefined ? undefined : { cause: maskedCause });
  copy.name = error.name;
  const code = (error as { code?: unknown }).code;
  if (code !== undefined) (copy as { code?: unknown }).code = code;
  return copy;
}
