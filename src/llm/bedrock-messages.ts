import type { ToolMessage, ToolSpec, TranscriptMessage } from '../types.js';
import { imageNote } from './image-note.js';
import { safeToolCallId, safeToolName } from './safe-tool-ids.js';
import { toolCallAsText, toolResultAsText } from './tool-exchange-text.js';
import { wellFormedMessages } from './well-formed-messages.js';

/** An image block of the Converse API. */
interface BedrockImageBlock {
  image: { format: string; source: { bytes: string } };
}

/** A content block of a `toolResult`. */
type BedrockToolResultBlock = { text: string } | BedrockImageBlock;

/** A content block of a Converse message. */
export type BedrockContentBlock =
  | { text: string }
  | BedrockImageBlock
  | { toolUse: { toolUseId: string; name: string; input: Record<string, unknown> } }
  | { toolResult: { toolUseId: string; content: BedrockToolResultBlock[]; status?: 'success' | 'error' } }
  | { cachePoint: { type: 'default' } };

/** One message of the Converse `messages` array. */
export interface BedrockMessage {
  role: 'user' | 'assistant';
  content: BedrockContentBlock[];
}

/** The Converse `toolConfig`. */
export interface BedrockToolConfig {
  tools: Array<{
    toolSpec: { name: string; description?: string; inputSchema: { json: Record<string, unknown> } };
  }>;
}

const IMAGE_FORMATS: Record<string, string> = {
  'image/png': 'png',
  'image/jpeg': 'jpeg',
  'image/jpg': 'jpeg',
  'image/gif': 'gif',
  'image/webp': 'webp',
};

/**
 * Maps the transcript to Converse messages.
 *
 * Assistant tool calls become `toolUse` blocks and results `toolResult` blocks of a user message
 * (`status: 'error'` on failures only, the field being documented for Claude), images as image
 * blocks when `vision` is on (a note otherwise). Converse wants roles to alternate, no empty or blank text, and refuses tool blocks
 * in a request without a `toolConfig`: with `withTools` off (the last round of a turn, where
 * tools are withheld) past calls and results are written out as text instead. Tool call ids and
 * names outside `[a-zA-Z0-9_-]{1,64}` (another model's, in the history) are mapped the same way
 * on a call and its result (see `safeToolCallId`), and lone surrogates become U+FFFD.
 */
export function toBedrockMessages(
  messages: readonly TranscriptMessage[],
  options: { vision?: boolean; withTools?: boolean } = {},
): BedrockMessage[] {
  const vision = options.vision === true;
  const withTools = options.withTools !== false;
  const out: BedrockMessage[] = [];
  for (const message of wellFormedMessages(messages)) {
    const role = message.role === 'assistant' ? 'assistant' : 'user';
    const blocks = toBlocks(message, vision, withTools);
    if (blocks.length === 0) continue;
    const last = out.at(-1);
    if (last && last.role === role) last.content.push(...blocks);
    else out.push({ role, content: blocks });
  }
  for (const message of out) {
    // Stable: results keep their call order and go before any text.
    if (message.role === 'user') message.content.sort((a, b) => rank(a) - rank(b));
  }
  return out;
}

/** Maps tool specs to a Converse `toolConfig`. */
export function toBedrockToolConfig(tools: readonly ToolSpec[]): BedrockToolConfig {
  return {
    tools: tools.map((tool) => ({
      toolSpec: {
        name: tool.name,
        // Converse refuses an empty description.
        ...(tool.description ? { description: tool.description } : {}),
        inputSchema: { json: tool.inputSchema },
      },
    })),
  };
}

function toBlocks(message: TranscriptMessage, vision: boolean, withTools: boolean): BedrockContentBlock[] {
  if (message.role === 'user') return textBlocks(message.content);
  if (message.role === 'tool') return [withTools ? toolResult(message, vision) : { text: toolResultAsText(message) }];
  const blocks = textBlocks(message.content);
  for (const call of message.toolCalls ?? []) {
    blocks.push(
      withTools
        ? { toolUse: { toolUseId: safeToolCallId(call.id), name: safeToolName(call.name), input: call.arguments } }
        : { text: toolCallAsText(call) },
    );
  }
  return blocks;
}

function textBlocks(text: string): BedrockContentBlock[] {
  return text.trim() === '' ? [] : [{ text }];
}

function toolResult(message: ToolMessage, vision: boolean): BedrockContentBlock {
  const images = message.images ?? [];
  const content: BedrockToolResultBlock[] = [];
  let text = message.content;
  const sendable = vision ? images.filter((image) => IMAGE_FORMATS[image.mimeType] !== undefined) : [];
  const dropped = images.length - sendable.length;
  if (dropped > 0) text = text === '' ? imageNote(dropped) : `${text}\n${imageNote(dropped)}`;
  if (text.trim() !== '') content.push({ text });
  for (const image of sendable) {
    content.push({ image: { format: IMAGE_FORMATS[image.mimeType] as string, source: { bytes: image.data } } });
  }
  // A result block needs some content; an empty tool output is still an answer.
  if (content.length === 0) content.push({ text: '(no output)' });
  // `status` is documented for Claude only; it is sent where it matters, on failures.
  return {
    toolResult: {
      toolUseId: safeToolCallId(message.toolCallId),
      content,
      ...(message.isError ? { status: 'error' } : {}),
    },
  };
}

function rank(block: BedrockContentBlock): number {
  return 'toolResult' in block ? 0 : 1;
}
