import { expect } from 'vitest';
import { isLlmChatError, type LlmChatError, toHttpError } from '../../src/errors.js';
import type { LlmStreamEvent } from '../../src/llm/llm-provider.js';

/** Options that keep retries fast in tests. */
export const FAST = { retryDelayMs: 1, maxRetryAfterMs: 2_000 } as const;

/** Drains a provider stream. */
export async function collect(stream: AsyncIterable<LlmStreamEvent>): Promise<LlmStreamEvent[]> {
  const events: LlmStreamEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

/** Drains a stream that must fail; returns the events seen before and the LlmChatError. */
export async function collectFailure(
  stream: AsyncIterable<LlmStreamEvent>,
): Promise<{ events: LlmStreamEvent[]; error: LlmChatError }> {
  const events: LlmStreamEvent[] = [];
  try {
    for await (const event of stream) events.push(event);
  } catch (error) {
    if (!isLlmChatError(error)) throw error;
    return { events, error };
  }
  throw new Error(`expected the stream to fail; got ${JSON.stringify(events)}`);
}

/** The concatenated text of the events. */
export function textOf(events: LlmStreamEvent[]): string {
  return events.map((event) => (event.type === 'text' ? event.text : '')).join('');
}

/** Asserts `secret` appears nowhere in the error: message, details, JSON, HTTP body, cause chain. */
export function expectSecretAbsent(error: unknown, secret: string): void {
  const seen: string[] = [JSON.stringify(toHttpError(error))];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 10; depth++) {
    seen.push(String(current));
    if (current instanceof Error) seen.push(current.message, current.stack ?? '');
    if (typeof current === 'object') {
      seen.push(JSON.stringify(current));
      seen.push(JSON.stringify((current as { details?: unknown }).details ?? null));
    }
    current = (current as { cause?: unknown }).cause;
  }
  for (const text of seen) expect(text).not.toContain(secret);
}
