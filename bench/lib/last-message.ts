import type { RecordedRequest } from '../../test/fixtures/fake-llm-common.js';

/**
 * How a bench script reads the fake LLM's request: whether the last message is a tool result
 * (the round after a tool call), and the words of the last message (the bench encodes its case
 * and round id there, e.g. "stream 42").
 */
export function lastMessageOf(request: RecordedRequest): { isToolResult: boolean; words: string[] } {
  const messages = (request.body?.messages ?? []) as Array<{ role: string; content: unknown }>;
  const last = messages.at(-1);
  return { isToolResult: last?.role === 'tool', words: String(last?.content ?? '').split(' ') };
}
