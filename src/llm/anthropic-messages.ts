import { copyWith } from '../internal/copy-with.js';
import type { ThinkingBlock, ToolMessage, ToolSpec, TranscriptMessage } from '../types.js';
import { imageNote } from './image-note.js';
import { safeToolCallId, safeToolName } from './safe-tool-ids.js';
import { toolCallAsText, toolResultAsText } from './tool-exchange-text.js';
import { wellFormedMessages } from './well-formed-messages.js';

/** A text or image block, the kinds a `tool_result` may hold. */
export type AnthropicResultBlock =
  | { type: 'text'; text: string }
  | { type: 'image'; source: { type: 'base64'; media_type: string; data: string } };

/** A prompt-cache breakpoint: everything up to and including the marked block is cached. */
export interface CacheControl {
  type: 'ephemeral';
}

/** A content block of a Messages API message. */
export type AnthropicBlock = (
  | AnthropicResultBlock
  | ThinkingBlock
  | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> }
  | { type: 'tool_result'; tool_use_id: string; content: string | AnthropicResultBlock[]; is_error?: boolean }
) & { cache_control?: CacheControl };

/** Options of {@link toAnthropicMessages}. */
export interface AnthropicMessageOptions {
  /** Send tool images as image blocks. @default false */
  vision?: boolean;
  /** Send the assistant's thinking blocks back (extended thinking is on). @default false */
  thinking?: boolean;
  /** Put a cache breakpoint on the last block of the last message. @default false */
  cache?: boolean;
  /**
   * The request defines tools. Off (the last round of a turn, where tools are withheld, or a
   * session without tools), past calls and results are written out as text: the API refuses
   * `tool_use` and `tool_result` blocks in a request that defines no tools. @default true
   */
  withTools?: boolean;
}

/** One message of the Messages API `messages` array. */
export interface AnthropicMessage {
  role: 'user' | 'assistant';
  content: AnthropicBlock[];
}

/** One entry of the Messages API `tools` array. */
export interface AnthropicTool {
  name: string;
  description?: string;
  input_schema: Record<string, unknown>;
  cache_control?: CacheControl;
}

/** The one breakpoint kind the API has; `ephemeral` is its five-minute cache. */
export const EPHEMERAL: CacheControl = Object.freeze({ type: 'ephemeral' });

/**
 * Maps the transcript to Messages API messages.
 *
 * Assistant tool calls become `tool_use` blocks; tool results become `tool_result` blocks of a
 * user message (`is_error` set for failures), with their images as image blocks when `vision`
 * is on and a short note otherwise. The API wants roles to alternate and no empty content, so
 * consecutive same-role messages (a run of tool results, a user message after them) are merged
 * into one, with `tool_result` blocks first as the API requires, and empty messages are dropped.
 *
 * The API refuses more than other providers, and a history may hold what another model wrote:
 * text blocks blank after trimming are left out (a message left with no block is dropped, as
 * above), tool call ids and names outside `[a-zA-Z0-9_-]` are mapped (the same way on the call
 * and its result, see `safeToolCallId`), and lone surrogates become U+FFFD.
 *
 * With `thinking`, an assistant message starts with its signed thinking blocks, unchanged: the
 * API refuses a tool-use turn whose thinking is missing or altered. With `cache`, the last block
 * that may carry one gets a `cache_control` breakpoint, so the next call of the tool loop (and
 * the next turn) reads the whole conversation so far from the cache.
 */
export function toAnthropicMessages(
  messages: readonly TranscriptMessage[],
  options: AnthropicMessageOptions = {},
): AnthropicMessage[] {
  const vision = options.vision === true;
  const thinking = options.thinking === true;
  const withTools = options.withTools !== false;
  const out: AnthropicMessage[] = [];
  for (const message of wellFormedMessages(messages)) {
    const role = message.role === 'assistant' ? 'assistant' : 'user';
    const blocks = toBlocks(message, vision, thinking, withTools);
    if (blocks.length === 0) continue;
    const last = out.at(-1);
    if (last && last.role === role) last.content.push(...blocks);
    else out.push({ role, content: blocks });
  }
  for (const message of out) {
    if (message.role === 'user') {
      // Stable sort: tool results keep their order and go before any text.
      message.content.sort((a, b) => rank(a) - rank(b));
    }
  }
  if (options.cache === true) markLastBlock(out.at(-1));
  return out;
}

// Thinking blocks cannot carry a breakpoint; the block before them can.
function markLastBlock(message: AnthropicMessage | undefined): void {
  if (!message) return;
  for (let i = message.content.length - 1; i >= 0; i--) {
    const block = message.content[i] as AnthropicBlock;
    if (block.type === 'thinking' || block.type === 'redacted_thinking') continue;
    message.content[i] = copyWith(block, { cache_control: EPHEMERAL });
    return;
  }
}

/** Maps tool specs to Messages API tools. */
export function toAnthropicTools(tools: readonly ToolSpec[]): AnthropicTool[] {
  return tools.map((tool) => ({
    name: tool.name,
    ...(tool.description === undefined ? {} : { description: tool.description }),
    input_schema: tool.inputSchema,
  }));
}

function toBlocks(
  message: TranscriptMessage,
  vision: boolean,
  thinking: boolean,
  withTools: boolean,
): AnthropicBlock[] {
  if (message.role === 'user') return isBlank(message.content) ? [] : [{ type: 'text', text: message.content }];
  if (message.role === 'assistant') {
    const blocks: AnthropicBlock[] =
      thinking && message.thinking ? message.thinking.map((block) => ({ ...block })) : [];
    // "text content blocks must contain non-whitespace text": models often send "\n\n" before a call.
    if (!isBlank(message.content)) blocks.push({ type: 'text', text: message.content });
    for (const call of message.toolCalls ?? []) {
      blocks.push(
        withTools
          ? { type: 'tool_use', id: safeToolCallId(call.id), name: safeToolName(call.name), input: call.arguments }
          : { type: 'text', text: toolCallAsText(call) },
      );
    }
    return blocks;
  }
  return [withTools ? toolResult(message, vision) : { type: 'text', text: toolResultAsText(message) }];
}

// Stops at the first visible character; `\s` is the set `trim()` removes.
function isBlank(text: string): boolean {
  return !/\S/.test(text);
}

function toolResult(message: ToolMessage, vision: boolean): AnthropicBlock {
  const images = message.images ?? [];
  let content: string | AnthropicResultBlock[];
  if (images.length === 0) {
    content = message.content;
  } else if (vision) {
    content = isBlank(message.content) ? [] : [{ type: 'text', text: message.content }];
    for (const image of images) {
      content.push({ type: 'image', source: { type: 'base64', media_type: image.mimeType, data: image.data } });
    }
  } else {
    const note = imageNote(images.length);
    content = message.content === '' ? note : `${message.content}\n${note}`;
  }
  return {
    type: 'tool_result',
    tool_use_id: safeToolCallId(message.toolCallId),
    content,
    ...(message.isError ? { is_error: true } : {}),
  };
}

function rank(block: AnthropicBlock): number {
  return block.type === 'tool_result' ? 0 : 1;
}
