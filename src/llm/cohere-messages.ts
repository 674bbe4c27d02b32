import { wellFormed } from '../internal/well-formed.js';
import type { ToolMessage, ToolSpec } from '../types.js';
import { imageNote } from './image-note.js';
import type { LlmRequest } from './llm-provider.js';
import { wellFormedMessages } from './well-formed-messages.js';

/** One message of the Cohere v2 chat `messages` array. */
export type CohereMessage =
  | { role: 'system' | 'user'; content: string }
  | { role: 'assistant'; content: string }
  | {
      role: 'assistant';
      tool_plan?: string;
      tool_calls: { id: string; type: 'function'; function: { name: string; arguments: string } }[];
    }
  | { role: 'tool'; tool_call_id: string; content: string };

/** One entry of the Cohere v2 `tools` array. */
export interface CohereTool {
  type: 'function';
  function: { name: string; description?: string; parameters: Record<string, unknown> };
}

/**
 * Maps the transcript to Cohere v2 chat messages. An assistant turn with tool calls carries its
 * text as the `tool_plan` (Cohere has no text next to tool calls); tool results are `tool`
 * messages, with `Error: ` before a failure and a note in place of images (Cohere's tool
 * messages take no images). Lone surrogates become U+FFFD (see `wellFormedMessages`).
 */
export function toCohereMessages(request: LlmRequest): CohereMessage[] {
  const out: CohereMessage[] = [];
  if (request.system) out.push({ role: 'system', content: wellFormed(request.system) });
  for (const message of wellFormedMessages(request.messages)) {
    if (message.role === 'user') {
      out.push({ role: 'user', content: message.content });
    } else if (message.role === 'assistant') {
      const calls = message.toolCalls ?? [];
      if (calls.length === 0) {
        out.push({ role: 'assistant', content: message.content });
        continue;
      }
      // The plan Cohere streamed goes back as the plan; text another model said stands in for it.
      const plan = message.content === '' ? message.reasoning : message.content;
      out.push({
        role: 'assistant',
        ...(plan ? { tool_plan: plan } : {}),
        tool_calls: calls.map((call) => ({
          id: call.id,
          type: 'function',
          function: { name: call.name, arguments: JSON.stringify(call.arguments) },
        })),
      });
    } else {
      out.push({ role: 'tool', tool_call_id: message.toolCallId, content: toolText(message) });
    }
  }
  return out;
}

/** Maps tool specs to Cohere v2 function tools. */
export function toCohereTools(tools: readonly ToolSpec[]): CohereTool[] {
  return tools.map((tool) => ({
    type: 'function',
    function: {
      name: tool.name,
      ...(tool.description === undefined ? {} : { description: tool.description }),
      parameters: tool.inputSchema,
    },
  }));
}

function toolText(message: ToolMessage): string {
  const text = message.isError ? `Error: ${message.content}` : message.content;
  const count = message.images?.length ?? 0;
  if (count === 0) return text;
  return text === '' ? imageNote(count) : `${text}\n${imageNote(count)}`;
}
