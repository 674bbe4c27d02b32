import type { ToolCall, ToolMessage } from '../types.js';

/**
 * Past tool calls and results written out as text, for a request that sends no tools (the last
 * round of a turn, where tools are withheld, or a session without tools): Anthropic and Bedrock
 * refuse tool blocks in a request that defines no tools, and the model still needs to read what
 * its calls did.
 * @internal
 */
export function toolCallAsText(call: ToolCall): string {
  return `[Called the tool ${call.name} with ${JSON.stringify(call.arguments)}]`;
}

/** A tool result written out as text (see {@link toolCallAsText}). @internal */
export function toolResultAsText(message: ToolMessage): string {
  const outcome = message.isError ? 'failed' : 'returned';
  return `[The tool ${message.name} ${outcome}: ${message.content === '' ? '(no output)' : message.content}]`;
}
