import type { TranscriptMessage } from '../types.js';

/**
 * Where a conversation's transcript lives. `SessionStore` provides one per user through
 * `store.historyOf(userId)`; a worker or a test can pass an in-memory one.
 */
export interface ChatHistory {
  /** The transcript so far, oldest first. */
  load(): Promise<TranscriptMessage[]>;
  /** Appends one whole turn atomically. */
  append(turn: TranscriptMessage[]): Promise<void>;
}

/**
 * A history kept in an array: for one-off use, tests and CLIs.
 * @example
 * const history = arrayHistory();
 * for await (const event of service.chat('hi', { history })) show(event);
 */
export function arrayHistory(initial: TranscriptMessage[] = []): ChatHistory & { messages: TranscriptMessage[] } {
  const messages = structuredClone(initial);
  return {
    messages,
    load: async () => structuredClone(messages),
    append: async (turn) => {
      messages.push(...structuredClone(turn));
    },
  };
}
