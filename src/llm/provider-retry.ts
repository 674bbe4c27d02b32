import type { LlmChatError } from '../errors.js';

/** Upper bound of one exponential backoff step, so a large `maxRetries` never waits minutes. */
const MAX_BACKOFF_MS = 10_000;

// A WeakSet rather than a flag on the error: the mark is ours, invisible to hosts and logs.
const retryable = new WeakSet<LlmChatError>();

/**
 * Marks an error thrown by a stream parser as worth another attempt (for example Anthropic's
 * `overloaded_error` event), as long as nothing was streamed yet. Returns the same error.
 */
export function markRetryable(error: LlmChatError): LlmChatError {
  retryable.add(error);
  return error;
}

/** Whether {@link markRetryable} marked `error`. @internal */
export function isMarkedRetryable(error: LlmChatError): boolean {
  return retryable.has(error);
}

/**
 * The wait before retry number `attempt + 1`: `baseMs` doubled per attempt, capped at 10 s, with
 * jitter in [50%, 100%] so many clients that failed together do not retry together.
 * @internal
 */
export function backoffMs(baseMs: number, attempt: number): number {
  const ceiling = Math.min(MAX_BACKOFF_MS, baseMs * 2 ** attempt);
  return Math.round(ceiling * (0.5 + Math.random() * 0.5));
}
