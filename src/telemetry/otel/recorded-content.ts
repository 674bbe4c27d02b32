import { LlmChatError } from '../../errors.js';

/** How many characters one recorded content attribute keeps by default. */
export const DEFAULT_MAX_CONTENT_LENGTH = 32_768;

// Below this, a call's messages could not say what they left out and stay within the limit.
const MIN_CONTENT_LENGTH = 256;

/**
 * Checks `maxContentLength` when the observer is made, so a typo fails at startup.
 * @throws LlmChatError `CONFIG_INVALID` unless it is a whole number of at least 256, or `Infinity`.
 * @internal
 */
export function checkMaxContentLength(value: number | undefined): number {
  if (value === undefined) return DEFAULT_MAX_CONTENT_LENGTH;
  if (value === Number.POSITIVE_INFINITY || (Number.isInteger(value) && value >= MIN_CONTENT_LENGTH)) return value;
  throw new LlmChatError(
    'CONFIG_INVALID',
    `openTelemetry: maxContentLength must be a whole number of at least ${MIN_CONTENT_LENGTH}.`,
  );
}

/**
 * Plain text (a tool's result) as recorded: at most `max` characters, the cut said at the end.
 * Contents come from users, models and tool servers: a multi-megabyte tool result would
 * otherwise sit on a span until it is exported, per call.
 * @internal
 */
export function recordedText(text: string, max: number): string {
  if (text.length <= max) return text;
  const note = ` … [${text.length - max} characters not recorded]`;
  return `${cutAt(text, Math.max(0, max - note.length))}${note}`;
}

/**
 * A JSON attribute (tool arguments) as recorded: still JSON, at most `max` characters.
 * Long strings inside are cut (shorter until the whole fits) and images are named, not carried;
 * a value still too long (many short strings) is recorded as `{"truncated":true,"characters":N,"preview":"…"}`.
 * @internal
 */
export function recordedJson(value: unknown, max: number): string {
  let json = stringifyRecorded(value, max);
  // Strings cut shorter and shorter until the whole fits: the value keeps its shape.
  for (let cap = Math.floor(max / 2); json.length > max && cap >= 64; cap = Math.floor(cap / 2)) {
    json = stringifyRecorded(value, cap);
  }
  if (json.length <= max) return json;
  // Escaping the preview's quotes may double it: half of `max` keeps the whole near `max`.
  const preview = recordedText(json, Math.max(0, Math.floor(max / 2) - 64));
  return JSON.stringify({ truncated: true, characters: json.length, preview });
}

/**
 * An LLM call's messages as recorded (`gen_ai.input.messages`): the newest messages that fit in
 * `max` characters, each recorded as {@link recordedJson} would, with one first entry counting
 * the older ones left out. A long conversation is not serialized whole onto every call's span.
 * @internal
 */
export function recordedMessages(messages: readonly unknown[], max: number): string {
  // The brackets, and room for the entry that counts the messages left out.
  const budget = max - 2 - OMITTED_ROOM;
  const kept: string[] = [];
  let length = 0;
  let index = messages.length - 1;
  for (; index >= 0; index--) {
    const json = recordedJson(messages[index], budget);
    if (kept.length > 0 && length + json.length + 1 > budget) break;
    kept.push(json);
    length += json.length + 1;
  }
  const omitted = index + 1;
  if (omitted > 0) kept.push(JSON.stringify({ role: 'system', omitted_messages: omitted }));
  return `[${kept.reverse().join(',')}]`;
}

// `{"role":"system","omitted_messages":N}` and its comma, N of up to 10 digits.
const OMITTED_ROOM = 50;

/** JSON with each string cut to `max` and each image named by its type and size, not its data. */
function stringifyRecorded(value: unknown, max: number): string {
  return (
    JSON.stringify(value, (key, inner: unknown) => {
      if (typeof inner === 'string') return recordedText(inner, max);
      if (key === 'images' && Array.isArray(inner)) return inner.map(describeImage);
      return inner;
    }) ?? 'null'
  );
}

function describeImage(image: unknown): unknown {
  if (typeof image !== 'object' || image === null) return image;
  const { mimeType, data } = image as { mimeType?: unknown; data?: unknown };
  return { mimeType, base64_characters: typeof data === 'string' ? data.length : 0 };
}

/** `text` cut to `length` code units, not between the two halves of a surrogate pair. */
function cutAt(text: string, length: number): string {
  const code = text.charCodeAt(length - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? length - 1 : length);
}
