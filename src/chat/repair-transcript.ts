import { copyWith } from '../internal/copy-with.js';
import type { AssistantMessage, ToolCall, ToolMessage, TranscriptMessage } from '../types.js';

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
 * dropped), and every tool call gets a result (a missing one is closed as an error). A call id
 * already used earlier in the transcript (two calls `x` in one message, or a server that numbers
 * every round's calls from `call_0`) is given a new one, `x_2` (or the next free number), on the
 * call and on the result answering it: the results of a repeated id answer its calls in order.
 * Anthropic refuses a transcript whose `tool_use` ids repeat. One stray entry would otherwise
 * make every later turn fail with a provider 400. Linear in its length; the input is not changed.
 *
 * @example
 * const { messages, droppedResults, closedCalls } = repairTranscript(await history.load());
 */
export function repairTranscript(input: readonly TranscriptMessage[]): TranscriptRepair {
  const messages: TranscriptMessage[] = [];
  let droppedResults = 0;
  let closedCalls = 0;
  // The calls of the last assistant message still waiting for their results, by the id they were
  // stored with: the calls sharing one id, in order, each with the id it is sent with.
  let open: Map<string, ToolCall[]> | undefined;
  // Every call id the transcript has used so far, as sent, and the next suffix to try per id.
  const ids: UsedIds = { used: new Set(), next: new Map() };

  const closeOpen = () => {
    if (open === undefined) return;
    for (const calls of open.values()) {
      for (const call of calls) {
        const result: ToolMessage = {
          role: 'tool',
          toolCallId: call.id,
          name: call.name,
          content: UNFINISHED_RESULT,
          isError: true,
        };
        messages.push(result);
        closedCalls++;
      }
    }
    open = undefined;
  };

  for (const message of input) {
    if (message.role === 'tool') {
      const calls = open?.get(message.toolCallId);
      const call = calls?.shift();
      if (call === undefined) {
        droppedResults++;
        continue;
      }
      if (calls?.length === 0) open?.delete(message.toolCallId);
      messages.push(call.id === message.toolCallId ? message : copyWith(message, { toolCallId: call.id }));
      continue;
    }
    closeOpen();
    if (message.role !== 'assistant' || !message.toolCalls?.length) {
      messages.push(message);
      continue;
    }
    const sent = uniqueCalls(message, ids);
    messages.push(sent);
    const waiting = new Map<string, ToolCall[]>();
    message.toolCalls.forEach((stored, index) => {
      const call = sent.toolCalls?.[index] as ToolCall;
      const same = waiting.get(stored.id);
      if (same) same.push(call);
      else waiting.set(stored.id, [call]);
    });
    open = waiting;
  }
  closeOpen();
  return { messages, droppedResults, closedCalls };
}

interface UsedIds {
  used: Set<string>;
  // Where the search for a free `id_N` resumes, so a server that reuses one id every round
  // costs one lookup per call, not one per earlier use.
  next: Map<string, number>;
}

/** `message` with every call id unused so far (the message itself when all are), recording them. */
function uniqueCalls(message: AssistantMessage, ids: UsedIds): AssistantMessage {
  const calls = message.toolCalls ?? [];
  let renamed: ToolCall[] | undefined;
  calls.forEach((call, index) => {
    let id = call.id;
    if (ids.used.has(id)) {
      let n = ids.next.get(call.id) ?? 2;
      do id = `${call.id}_${n++}`;
      while (ids.used.has(id));
      ids.next.set(call.id, n);
    }
    ids.used.add(id);
    if (id === call.id) return;
    renamed ??= calls.slice();
    renamed[index] = copyWith(call, { id });
  });
  return renamed === undefined ? message : copyWith(message, { toolCalls: renamed });
}
