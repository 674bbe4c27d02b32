import { LlmChatError } from '../errors.js';
import type { AssistantMessage, ToolCall, ToolMessage, TranscriptMessage } from '../types.js';
import type { RecordedEvent } from './turn-log.js';

/** A turn as far as its event log tells it, for a process that takes it over after a crash. */
export interface RebuiltTurn {
  /** The user's message, then each answer (with its tool calls) and the tool results recorded. */
  messages: TranscriptMessage[];
  /**
   * Tool calls of the last answer that started but whose end was never recorded: cut off
   * mid-call. They have no result in `messages` yet.
   */
  cutCalls: ToolCall[];
  /** The answer text streamed so far (every round's). */
  text: string;
  /** The tools used so far, in first-use order. */
  tools: string[];
}

const INVALID_MESSAGE = 'The recorded events of this turn cannot be continued.';

/**
 * Rebuilds the transcript of a turn from its recorded events: `token` events make the answer
 * text of a round, `tool_start` events the tool calls of that round, `tool_end` / `tool_error`
 * their results. `reasoning` events (recorded when the host shows reasoning) become the
 * `reasoning` of the answer they go with: DeepSeek's thinking mode refuses a request whose
 * tool-call rounds lost theirs. Other events (approval questions) carry nothing the model needs.
 * The events come from storage, so their fields are checked: a tool event without an id or a
 * tool name is `EVENT_LOG_INVALID`.
 *
 * Signed reasoning blocks and token usage are not recorded, so they are not rebuilt; nor is
 * reasoning the host did not show.
 *
 * @example
 * const { messages, cutCalls } = rebuildTurn(latest.message, await log.read(ref, 0));
 */
export function rebuildTurn(message: string, events: readonly RecordedEvent[]): RebuiltTurn {
  const rounds: Array<{ answer: AssistantMessage; results: Map<string, ToolMessage> }> = [];
  const tools: string[] = [];
  let text = '';
  // 'text': the current answer still streams; 'calls': its tool calls are being announced;
  // 'results': its calls are ending. A token or call after results opens the next round.
  let phase: 'none' | 'text' | 'calls' | 'results' = 'none';
  // A round's reasoning streams before its text and calls: it waits here for the answer it opens.
  let reasoning = '';
  const open = () => {
    const round = { answer: { role: 'assistant', content: '' } as AssistantMessage, results: new Map() };
    if (reasoning !== '') round.answer.reasoning = reasoning;
    reasoning = '';
    rounds.push(round);
    return round;
  };
  let current: (typeof rounds)[number] | undefined;
  for (const { event, data } of events) {
    if (event === 'token') {
      const content = typeof data.content === 'string' ? data.content : '';
      if (phase !== 'text') current = open();
      phase = 'text';
      (current as (typeof rounds)[number]).answer.content += content;
      text += content;
    } else if (event === 'tool_start') {
      const call: ToolCall = { id: idOf(data), name: toolOf(data), arguments: argumentsOf(data.input) };
      if (phase === 'none' || phase === 'results' || current === undefined) current = open();
      phase = 'calls';
      const answer = current.answer;
      answer.toolCalls = [...(answer.toolCalls ?? []), call];
      if (!tools.includes(call.name)) tools.push(call.name);
    } else if (event === 'reasoning') {
      const content = typeof data.content === 'string' ? data.content : '';
      if (phase === 'none' || phase === 'results' || current === undefined) reasoning += content;
      else current.answer.reasoning = (current.answer.reasoning ?? '') + content;
    } else if (event === 'tool_end' || event === 'tool_error') {
      const id = idOf(data);
      const call = current?.answer.toolCalls?.find((candidate) => candidate.id === id);
      // A result for no call of this round cannot be placed in a valid transcript.
      if (current === undefined || call === undefined) continue;
      phase = 'results';
      const result: ToolMessage = {
        role: 'tool',
        toolCallId: id,
        name: call.name,
        content: event === 'tool_end' ? outputText(data.output) : String(data.error ?? ''),
      };
      if (event === 'tool_error') result.isError = true;
      current.results.set(id, result);
    }
  }
  const messages: TranscriptMessage[] = [{ role: 'user', content: message }];
  let cutCalls: ToolCall[] = [];
  for (const { answer, results } of rounds) {
    // As the turn's own process keeps it: reasoning goes back with tool calls only.
    if (!answer.toolCalls?.length) delete answer.reasoning;
    messages.push(answer);
    for (const call of answer.toolCalls ?? []) {
      const result = results.get(call.id);
      if (result !== undefined) messages.push(result);
    }
  }
  const last = rounds.at(-1);
  if (last !== undefined) cutCalls = (last.answer.toolCalls ?? []).filter((call) => !last.results.has(call.id));
  return { messages, cutCalls, text, tools };
}

function idOf(data: Record<string, unknown>): string {
  const id = data.id;
  if (typeof id !== 'string' || id === '') throw new LlmChatError('EVENT_LOG_INVALID', INVALID_MESSAGE);
  return id;
}

function toolOf(data: Record<string, unknown>): string {
  const tool = data.tool;
  if (typeof tool !== 'string' || tool === '') throw new LlmChatError('EVENT_LOG_INVALID', INVALID_MESSAGE);
  return tool;
}

function argumentsOf(input: unknown): Record<string, unknown> {
  return typeof input === 'object' && input !== null && !Array.isArray(input) ? (input as Record<string, unknown>) : {};
}

/** What the model reads of a tool's output: the text, or the structured content as JSON. */
function outputText(output: unknown): string {
  if (typeof output === 'string') return output;
  try {
    return JSON.stringify(output) ?? '';
  } catch {
    return '';
  }
}
