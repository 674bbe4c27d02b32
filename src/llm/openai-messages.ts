import { wellFormed } from '../internal/well-formed.js';
import type { ToolMessage, ToolSpec } from '../types.js';
import { imageNote } from './image-note.js';
import type { LlmRequest } from './llm-provider.js';
import { wellFormedMessages } from './well-formed-messages.js';

/** A content part of an OpenAI user message. */
export type OpenAIContentPart = { type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string } };

/** One message of the Chat Completions `messages` array. */
export type OpenAIChatMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string | OpenAIContentPart[] }
  | {
      role: 'assistant';
      content: string | null;
      tool_calls?: { id: string; type: 'function'; function: { name: string; arguments: string } }[];
      reasoning_content?: string;
    }
  | { role: 'tool'; tool_call_id: string; content: string; name?: string };

/** Server quirks {@link toOpenAIMessages} adapts to. */
export interface OpenAIMessageOptions {
  /** Rewrites tool call ids into a form the server accepts (Mistral's nine characters). */
  toolCallId?: (id: string) => string;
  /** Adds the tool's `name` to `tool` messages. @default false */
  toolMessageName?: boolean;
  /** Sends a tool-call round's stored reasoning back as `reasoning_content` (DeepSeek). @default false */
  reasoningContent?: boolean;
}

/** One entry of the Chat Completions `tools` array. */
export interface OpenAITool {
  type: 'function';
  function: { name: string; description?: string; parameters: Record<string, unknown> };
}

/**
 * Maps the transcript to Chat Completions messages: the system prompt first, assistant tool
 * calls with JSON-string arguments, and one `tool` message per result.
 *
 * Tool images: OpenAI accepts images only in user messages, and `tool` messages must directly
 * follow their assistant message, so with `vision` the images of a run of tool results go into
 * one user message placed after the run. Without `vision` each result gets a short note instead.
 * A failed tool's text is prefixed with `Error: `, as the format has no error flag. Lone
 * surrogates become U+FFFD (see `wellFormedMessages`).
 */
export function toOpenAIMessages(request: LlmRequest, options: OpenAIMessageOptions = {}): OpenAIChatMessage[] {
  const out: OpenAIChatMessage[] = [];
  const callId = options.toolCallId ?? ((id: string) => id);
  if (request.system) out.push({ role: 'system', content: wellFormed(request.system) });
  let images: OpenAIContentPart[] = [];
  const flushImages = () => {
    if (images.length > 0) out.push({ role: 'user', content: images });
    images = [];
  };

  for (const message of wellFormedMessages(request.messages)) {
    if (message.role !== 'tool') flushImages();
    if (message.role === 'user') {
      out.push({ role: 'user', content: message.content });
    } else if (message.role === 'assistant') {
      const calls = message.toolCalls ?? [];
      if (calls.length === 0) {
        out.push({ role: 'assistant', content: message.content });
      } else {
        out.push({
          role: 'assistant',
          // OpenAI wants null, not '', next to tool calls.
          content: message.content === '' ? null : message.content,
          tool_calls: calls.map((call) => ({
            id: callId(call.id),
            type: 'function',
            function: { name: call.name, arguments: JSON.stringify(call.arguments) },
          })),
          ...(options.reasoningContent && message.reasoning !== undefined
            ? { reasoning_content: message.reasoning }
            : {}),
        });
      }
    } else {
      out.push({
        role: 'tool',
        tool_call_id: callId(message.toolCallId),
        content: toolText(message, request.vision === true),
        ...(options.toolMessageName ? { name: message.name } : {}),
      });
      if (request.vision === true && message.images && message.images.length > 0) {
        images.push({
          type: 'text',
          text: `Images returned by the tool '${message.name}' (call ${message.toolCallId}):`,
        });
        for (const image of message.images) {
          images.push({ type: 'image_url', image_url: { url: `data:${image.mimeType};base64,${image.data}` } });
        }
      }
    }
  }
  flushImages();
  return out;
}

/** Maps tool specs to Chat Completions function tools. */
export function toOpenAITools(tools: readonly ToolSpec[]): OpenAITool[] {
  return tools.map((tool) => ({
    type: 'function',
    function: {
      name: tool.name,
      ...(tool.description === undefined ? {} : { description: tool.description }),
      parameters: tool.inputSchema,
    },
  }));
}

function toolText(message: ToolMessage, vision: boolean): string {
  let text = message.isError ? `Error: ${message.content}` : message.content;
  const count = message.images?.length ?? 0;
  if (!vision && count > 0) text = text === '' ? imageNote(count) : `${text}\n${imageNote(count)}`;
  return text;
}
