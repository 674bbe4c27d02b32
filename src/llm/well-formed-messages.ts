import { copyWith } from '../internal/copy-with.js';
import { isWellFormedJson, wellFormed, wellFormedJson } from '../internal/well-formed.js';
import type { AssistantMessage, ToolCall, ToolMessage, TranscriptMessage } from '../types.js';

/**
 * The transcript with no lone surrogate in any text a provider is sent: `messages` itself in the
 * common case (one native scan of each text, no copy), else a copy in which only the messages
 * that held one are rebuilt, each bad surrogate replaced by U+FFFD.
 *
 * Every message builder runs it first, whatever wrote the history: a lone surrogate stored by an
 * older version, or left by an answer cut between the two halves of a pair, would otherwise make
 * a strict provider (Anthropic: "no low surrogate in string") refuse every later request of the
 * conversation. Signed thinking blocks are left as they are: the provider wrote them, and an
 * edited one fails its signature check.
 * @internal
 */
export function wellFormedMessages<T extends readonly TranscriptMessage[]>(messages: T): T {
  let out: TranscriptMessage[] | undefined;
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i] as TranscriptMessage;
    const fixed = wellFormedMessage(message);
    if (fixed === message) continue;
    out ??= messages.slice();
    out[i] = fixed;
  }
  return (out ?? messages) as T;
}

function wellFormedMessage(message: TranscriptMessage): TranscriptMessage {
  if (message.role === 'user') {
    const content = wellFormed(message.content);
    return content === message.content ? message : copyWith(message, { content });
  }
  if (message.role === 'tool') return wellFormedResult(message);
  return wellFormedAnswer(message);
}

function wellFormedResult(message: ToolMessage): ToolMessage {
  const content = wellFormed(message.content);
  const name = wellFormed(message.name);
  const toolCallId = wellFormed(message.toolCallId);
  if (content === message.content && name === message.name && toolCallId === message.toolCallId) return message;
  return copyWith(message, { content, name, toolCallId });
}

function wellFormedAnswer(message: AssistantMessage): AssistantMessage {
  const content = wellFormed(message.content);
  const reasoning = message.reasoning === undefined ? undefined : wellFormed(message.reasoning);
  const calls = message.toolCalls;
  const callsFine = calls === undefined || calls.every(isWellFormedCall);
  if (content === message.content && reasoning === message.reasoning && callsFine) return message;
  const fixed: AssistantMessage = copyWith(message, { content });
  if (reasoning !== undefined) fixed.reasoning = reasoning;
  if (!callsFine) fixed.toolCalls = calls.map(wellFormedCall);
  return fixed;
}

function isWellFormedCall(call: ToolCall): boolean {
  return wellFormed(call.id) === call.id && wellFormed(call.name) === call.name && isWellFormedJson(call.arguments);
}

function wellFormedCall(call: ToolCall): ToolCall {
  return copyWith(call, {
    id: wellFormed(call.id),
    name: wellFormed(call.name),
    arguments: wellFormedJson(call.arguments),
  });
}
