import type { EventSourceMessage } from 'eventsource-parser';
import type { LlmStreamEvent } from './llm-provider.js';

/**
 * Turns one provider's wire messages (SSE messages by default; decoded frames for binary
 * streams) into normalized events, one message at a time. Synchronous on purpose: the HTTP layer
 * feeds it every message of a network chunk in one go, so a streamed token costs no async step
 * of its own here.
 * @internal
 */
export interface StreamParser<M = EventSourceMessage> {
  /** The events one message carries. Throws `PROVIDER_ERROR` for a malformed or failed stream. */
  push(message: M): Iterable<LlmStreamEvent>;
  /** Whether the stream said it is complete; what follows is not read. */
  readonly done: boolean;
  /** The closing events once the body ended (or `done`); throws `PROVIDER_ERROR` when it was cut. */
  end(): Iterable<LlmStreamEvent>;
}
