import type { AssistantMessage, ToolMessage, TranscriptMessage } from '../types.js';

/** What {@link repairTranscript} changed. */
export interface TranscriptRepair {
  /** The transcript providers accept. */
  messages: TranscriptMessage[];
  /** Tool results dropped: no tool call of the assistant message before them asked for them, or a second answer to one call. */
  droppedResults: number;
  /** Tool calls that had no result and were given one saying so. */
  closedCalls: number;
}

const UNFINISHED_RESULT = 'The tool call did not finish; no result was recorded.';

/**
 * Makes a stored transcript one that LLM APIs accept, whatever storage held: every tool result
 * directly answers a call of the assistant message before it (orphans and duplicates are
 * dropped), and every tool call gets a result (a missing one is closed as an error). One stray
 * entry would otherwise make every later turn fail with a provider 400. Linear in its length;
 * the input is not changed.
 *
 * @example
 * const { messages, droppedResults, closedCalls } = repairTranscript(await history.load());
 */
export function repairTranscript(input: readonly TranscriptMessage[]): TranscriptRepair {
  const messages: TranscriptMessage[] = [];
  let droppedResults = 0;
  let closedCalls = 0;
  // The calls of the last assistant message still waiting for their results.
  let open: Map<string, string> | undefined;

  const closeOpen = () => {
    if (open === undefined) return;
    for (const [id, name] of open) {
      const result: ToolMessage = { role: 'tool', toolCallId: id, name, content: UNFINISHED_RESULT, isError: true };
      messages.push(result);
      closedCalls++;
    }
    open = undefined;
  };

  for (const message of input) {
    if (message.role === 'tool') {
      const name = open?.get(message.toolCallId);
      if (name === undefined) {
        droppedResults++;
        continue;
      }
      open?.delete(message.toolCallId);
      messages.push(message);
      continue;
    }
    closeOpen();
    messages.push(message);
    if (message.role === 'assistant' && (message as AssistantMessage).toolCalls?.length) {
      open = new Map((message as AssistantMessage).toolCalls?.map((call) => [call.id, call.name]));
    }
  }
  closeOpen();
  return { messages, droppedResults, closedCalls };
}
