import type { ToolMessage, ToolSpec, TranscriptMessage } from '../types.js';
import { imageNote } from './image-note.js';
import { wellFormedMessages } from './well-formed-messages.js';

/** One part of a Gemini `Content`. */
export type GeminiPart =
  | { text: string }
  | { inlineData: { mimeType: string; data: string } }
  | { functionCall: { name: string; args: Record<string, unknown> }; thoughtSignature?: string }
  | { functionResponse: { name: string; response: Record<string, unknown> } };

/** One entry of the `contents` array of `generateContent`. */
export interface GeminiContent {
  role: 'user' | 'model';
  parts: GeminiPart[];
}

/** One entry of `functionDeclarations`. */
export interface GeminiFunctionDeclaration {
  name: string;
  description?: string;
  /** Full JSON Schema, so MCP tool schemas need no conversion to Gemini's OpenAPI subset. */
  parametersJsonSchema: Record<string, unknown>;
}

/**
 * The documented stand-in for a thought signature Gemini never gave us (a tool call made by
 * another model earlier in the turn): Gemini 3 refuses a function call of the current turn
 * without one.
 */
export const SKIP_THOUGHT_SIGNATURE = 'skip_thought_signature_validator';

/**
 * Maps the transcript to Gemini `contents`.
 *
 * Assistant tool calls become `functionCall` parts, the first of each step carrying its thought
 * signature back as Gemini 3 requires; tool results become `functionResponse` parts of a user
 * content, `{ output }` or `{ error }` as the API documents, in call order (Gemini matches them
 * by position, so no ids are sent). Images go as `inlineData` parts after the responses when
 * `vision` is on, else a note. Consecutive same-role entries are merged, as Gemini wants roles
 * to alternate. Lone surrogates become U+FFFD (see `wellFormedMessages`).
 */
export function toGeminiContents(input: readonly TranscriptMessage[], vision = false): GeminiContent[] {
  const messages = wellFormedMessages(input);
  const out: GeminiContent[] = [];
  // Signatures are checked for the current turn: everything after the last user text.
  let currentTurnStart = 0;
  messages.forEach((message, index) => {
    if (message.role === 'user') currentTurnStart = index;
  });
  messages.forEach((message, index) => {
    const role = message.role === 'assistant' ? 'model' : 'user';
    const parts = toParts(message, vision, index > currentTurnStart);
    if (parts.length === 0) return;
    const last = out.at(-1);
    if (last && last.role === role) last.parts.push(...parts);
    else out.push({ role, parts });
  });
  for (const content of out) {
    // Stable: the responses keep their call order and go before images or text.
    if (content.role === 'user') content.parts.sort((a, b) => rank(a) - rank(b));
  }
  return out;
}

function rank(part: GeminiPart): number {
  return 'functionResponse' in part ? 0 : 1;
}

/** Maps tool specs to one `tools` entry of function declarations. */
export function toGeminiTools(
  tools: readonly ToolSpec[],
): Array<{ functionDeclarations: GeminiFunctionDeclaration[] }> {
  return [
    {
      functionDeclarations: tools.map((tool) => ({
        name: tool.name,
        ...(tool.description ? { description: tool.description } : {}),
        parametersJsonSchema: tool.inputSchema,
      })),
    },
  ];
}

function toParts(message: TranscriptMessage, vision: boolean, inCurrentTurn: boolean): GeminiPart[] {
  if (message.role === 'user') return message.content === '' ? [] : [{ text: message.content }];
  if (message.role === 'tool') return toolResponse(message, vision);
  const parts: GeminiPart[] = message.content === '' ? [] : [{ text: message.content }];
  (message.toolCalls ?? []).forEach((call, index) => {
    const part: GeminiPart = { functionCall: { name: call.name, args: call.arguments } };
    const signature = call.signature ?? (index === 0 && inCurrentTurn ? SKIP_THOUGHT_SIGNATURE : undefined);
    if (signature !== undefined) part.thoughtSignature = signature;
    parts.push(part);
  });
  return parts;
}

function toolResponse(message: ToolMessage, vision: boolean): GeminiPart[] {
  const images = message.images ?? [];
  let text = message.content;
  if (images.length > 0 && !vision)
    text = text === '' ? imageNote(images.length) : `${text}\n${imageNote(images.length)}`;
  const parts: GeminiPart[] = [
    {
      functionResponse: {
        name: message.name,
        response: message.isError ? { error: text } : { output: text },
      },
    },
  ];
  if (vision) for (const image of images) parts.push({ inlineData: { mimeType: image.mimeType, data: image.data } });
  return parts;
}
