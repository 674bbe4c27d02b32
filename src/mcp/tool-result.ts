import type { CallToolResult, CompatibilityCallToolResult, ContentBlock } from '@modelcontextprotocol/sdk/types.js';
import { imageTypeOf } from '../internal/image-type.js';
import { wellFormed } from '../internal/well-formed.js';
import type { ToolImage } from '../types.js';
import type { ToolResult } from './tool-source.js';
import { truncateMiddle } from './truncate-middle.js';

/** Options of {@link toToolResult}. */
export interface ToToolResultOptions {
  /**
   * Longest `text` handed to the model. Longer results keep their head and tail around a
   * `…[truncated N characters]…` marker.
   * @default 20000
   */
  maxResultChars?: number;
  /**
   * Decoded bytes of images kept from one result, all images together. An image that does not
   * fit is left out of `images` and only described in the text, with a note that it was left out.
   * @default 2097152 (2 MiB)
   */
  maxImageBytes?: number;
}

/** The default of {@link ToToolResultOptions.maxResultChars}. */
export const DEFAULT_MAX_RESULT_CHARS = 20_000;

/** The default of {@link ToToolResultOptions.maxImageBytes}. */
export const DEFAULT_MAX_IMAGE_BYTES = 2 * 1024 * 1024;

/**
 * Converts an MCP `tools/call` result into the library's {@link ToolResult}. Pure.
 *
 * - Text parts are joined with `'\n'`; every other part is described in the text, in order:
 *   `[image: image/png, 1234 bytes]`, `[audio: audio/wav, 99 bytes]`, `[resource: uri]` followed
 *   by the resource's text (or `[resource: uri, mime, N bytes]` for a blob), and
 *   `[resource link: name <uri>]`. Images are also returned as `images` so vision models see them,
 *   as long as they fit in `maxImageBytes` together; one that does not is described as
 *   `[image: image/png, 20971520 bytes, left out: over the 2097152-byte image limit]` and dropped.
 *   An image is kept only when its bytes start like a PNG, JPEG, GIF or WebP, with the type its
 *   bytes say (servers mislabel, and providers refuse an image whose bytes do not match its
 *   type); empty data or any other bytes are described as left out instead.
 * - `structuredContent` wins over text parts: `output` is the object and `text` its JSON, because
 *   the structured form is the authoritative one (the spec has servers repeat it as text only
 *   for older clients, so the text parts are usually a duplicate). Non-text parts are still
 *   described after the JSON. The same applies to the legacy `toolResult` field.
 * - Without structured content, `output` is the (possibly truncated) text.
 * - `isError: true` from the server becomes `isError: true`.
 * - `text` longer than `maxResultChars` is cut in the middle. A structured `output` whose JSON is
 *   that long is replaced by the cut text too, so one huge result cannot flood `tool_end` events.
 * - Lone surrogates in `text` (a server that cut a string inside an emoji) become U+FFFD: the
 *   text is kept in the history, and a strict provider refuses any request that holds one.
 *
 * @example
 * toToolResult({ content: [{ type: 'text', text: '5' }] }); // { text: '5', output: '5', isError: false }
 */
export function toToolResult(
  result: CallToolResult | CompatibilityCallToolResult,
  options: ToToolResultOptions = {},
): ToolResult {
  const maxChars = options.maxResultChars ?? DEFAULT_MAX_RESULT_CHARS;
  const maxImageBytes = options.maxImageBytes ?? DEFAULT_MAX_IMAGE_BYTES;
  let imageBytes = 0;
  const content: ContentBlock[] = Array.isArray(result.content) ? (result.content as ContentBlock[]) : [];
  const texts: string[] = [];
  const notes: string[] = [];
  // What the non-text parts are, in order: added after structured content too.
  const described: string[] = [];
  const images: ToolImage[] = [];
  for (const part of content) {
    if (part.type === 'text') {
      texts.push(part.text);
      notes.push(part.text);
      continue;
    }
    if (part.type === 'image') {
      const mimeType = isBase64(part.data) ? imageTypeOf(part.data) : undefined;
      if (mimeType === undefined) {
        const note = `[image: ${part.mimeType.slice(0, 64)}, left out: not a PNG, JPEG, GIF or WebP image in base64]`;
        notes.push(note);
        described.push(note);
        continue;
      }
      // Checked just above: no whitespace to strip, so no copy of a multi-megabyte string.
      const bytes = cleanBase64Bytes(part.data);
      const fits = imageBytes + bytes <= maxImageBytes;
      const note = fits
        ? `[image: ${mimeType}, ${bytes} bytes]`
        : `[image: ${mimeType}, ${bytes} bytes, left out: over the ${maxImageBytes}-byte image limit]`;
      if (fits) {
        imageBytes += bytes;
        images.push({ data: part.data, mimeType });
      }
      notes.push(note);
      described.push(note);
      continue;
    }
    const note = describePart(part);
    notes.push(note);
    described.push(note);
  }

  const structured = structuredOf(result);
  let text: string;
  let output: unknown;
  if (structured.present) {
    const json = typeof structured.value === 'string' ? structured.value : (JSON.stringify(structured.value) ?? '');
    text = [json, ...described].join('\n');
    output = structured.value;
  } else {
    text = notes.join('\n');
    output = text;
  }

  // One scan of the joined text in the common case. A string output (the text, or structured
  // content that is a string) goes out in events and comes back as a rebuilt turn's result.
  const clean = wellFormed(text);
  if (typeof output === 'string') output = output === text ? clean : wellFormed(output);
  const cut = truncateMiddle(clean, maxChars);
  if (cut !== clean) output = cut;
  const converted: ToolResult = { text: cut, output, isError: result.isError === true };
  if (images.length > 0) converted.images = images;
  return converted;
}

function structuredOf(result: CallToolResult | CompatibilityCallToolResult): { present: boolean; value?: unknown } {
  if (result.structuredContent !== undefined && result.structuredContent !== null) {
    return { present: true, value: result.structuredContent };
  }
  // Protocol 2024-10-07 servers answer with `toolResult` instead of `content`.
  if (!Array.isArray(result.content) && 'toolResult' in result && result.toolResult !== undefined) {
    return { present: true, value: result.toolResult };
  }
  return { present: false };
}

function describePart(part: ContentBlock): string {
  switch (part.type) {
    case 'text':
      return part.text;
    case 'image':
      return `[image: ${part.mimeType}, ${base64Bytes(part.data)} bytes]`;
    case 'audio':
      return `[audio: ${part.mimeType}, ${base64Bytes(part.data)} bytes]`;
    case 'resource': {
      const resource = part.resource;
      if ('text' in resource && typeof resource.text === 'string') {
        return `[resource: ${resource.uri}]\n${resource.text}`;
      }
      const blob = 'blob' in resource && typeof resource.blob === 'string' ? resource.blob : '';
      return `[resource: ${resource.uri}, ${resource.mimeType ?? 'application/octet-stream'}, ${base64Bytes(blob)} bytes]`;
    }
    case 'resource_link': {
      const about = part.description ? `: ${part.description}` : '';
      return `[resource link: ${part.name} <${part.uri}>${about}]`;
    }
    default:
      return `[unsupported content: ${String((part as { type?: unknown }).type)}]`;
  }
}

/** Decoded size of base64 data, without decoding it. */
function base64Bytes(data: string): number {
  return cleanBase64Bytes(data.replace(/\s+/g, ''));
}

/** {@link base64Bytes} of data known to hold no whitespace (a kept image passed its check). */
function cleanBase64Bytes(clean: string): number {
  const padding = clean.endsWith('==') ? 2 : clean.endsWith('=') ? 1 : 0;
  return Math.max(0, Math.floor((clean.length * 3) / 4) - padding);
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Whether `data` is non-empty base64 without whitespace (what providers take as image data). */
function isBase64(data: string): boolean {
  return data.length > 0 && data.length % 4 === 0 && BASE64.test(data);
}
