import { LlmChatError } from '../errors.js';

/**
 * One server-sent event, before encoding. Every field is optional; a frame with no `data` is not
 * dispatched by browsers (the HTML spec drops events whose data buffer is empty), so events meant
 * for a listener should always carry `data`.
 */
export interface SseMessage {
  /** Event type (`event:` line). Must not contain CR or LF. */
  event?: string;
  /** Payload. A string is sent as-is; anything else is `JSON.stringify`'d. */
  data?: unknown;
  /** Event id (`id:` line). Must not contain CR, LF or NUL. */
  id?: string | number;
  /** Reconnection time the client should use, in milliseconds. A non-negative whole number. */
  retry?: number;
  /** Comment lines written before the fields (`: text`); clients ignore them. */
  comment?: string;
}

// Line terminators of the SSE grammar: CRLF, lone CR, lone LF.
const LINE_BREAK = /\r\n|\r|\n/;

/**
 * Encodes one event as an SSE frame, following the HTML spec: comment lines, `event:`, `id:`,
 * `retry:`, then one `data:` line per line of the payload, and a blank line to end the frame.
 *
 * Invalid fields throw an `INTERNAL` LlmChatError rather than `BAD_REQUEST`: event names, ids and
 * retry values are chosen by the server, never by the client, so a bad one is a bug on our side and
 * must not be blamed on the request.
 *
 * Runs once per streamed token, so the common case (JSON payload, no line breaks) does no regex
 * work and builds a single string.
 *
 * @throws {LlmChatError} `INTERNAL` when `event` or `id` holds a line break, `id` holds NUL,
 *   `retry` is not a non-negative whole number, or `data` cannot be serialized.
 * @example
 * encodeSseEvent({ event: 'token', id: 7, data: { content: 'Hi' } });
 * // 'event: token\nid: 7\ndata: {"content":"Hi"}\n\n'
 */
export function encodeSseEvent(message: SseMessage): string {
  let frame = message.comment === undefined ? '' : commentLines(message.comment);
  const { event, id, retry, data } = message;
  if (event !== undefined) {
    if (hasLineBreak(event)) throw invalid('SSE event name must not contain a line break.');
    frame += `event: ${event}\n`;
  }
  if (id !== undefined) {
    const text = typeof id === 'number' ? encodeNumericId(id) : id;
    if (hasLineBreak(text) || text.includes('\0')) throw invalid('SSE event id must not contain CR, LF or NUL.');
    frame += `id: ${text}\n`;
  }
  if (retry !== undefined) {
    if (!Number.isSafeInteger(retry) || retry < 0) throw invalid('SSE retry must be a non-negative whole number.');
    frame += `retry: ${retry}\n`;
  }
  if (data !== undefined) {
    if (typeof data === 'string') {
      frame += hasLineBreak(data) ? dataLines(data) : `data: ${data}\n`;
    } else {
      // JSON.stringify without indentation never emits a raw line break, so no split is needed.
      frame += `data: ${serialize(data)}\n`;
    }
  }
  return `${frame}\n`;
}

/**
 * Encodes an SSE comment frame: `: text` lines and a blank line. Clients ignore comments, which
 * makes them the keep-alive of choice (`: ping`). A multi-line text becomes several `:` lines.
 *
 * @example
 * encodeSseComment('ping'); // ': ping\n\n'
 */
export function encodeSseComment(text: string): string {
  return `${commentLines(text)}\n`;
}

function hasLineBreak(text: string): boolean {
  return text.includes('\n') || text.includes('\r');
}

function commentLines(text: string): string {
  if (!hasLineBreak(text)) return `: ${text}\n`;
  let out = '';
  for (const line of text.split(LINE_BREAK)) out += `: ${line}\n`;
  return out;
}

function dataLines(text: string): string {
  let out = '';
  for (const line of text.split(LINE_BREAK)) out += `data: ${line}\n`;
  return out;
}

function encodeNumericId(id: number): string {
  if (!Number.isFinite(id)) throw invalid('SSE event id must be a finite number.');
  return String(id);
}

function serialize(data: unknown): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(data);
  } catch (error) {
    // Circular structures and BigInt land here; the original error stays as `cause` for the logger.
    throw new LlmChatError('INTERNAL', 'SSE data could not be serialized as JSON.', { cause: error });
  }
  // Functions and symbols stringify to undefined; sending `data: undefined` would be a lie.
  if (json === undefined) throw invalid('SSE data could not be serialized as JSON.');
  return json;
}

function invalid(message: string): LlmChatError {
  return new LlmChatError('INTERNAL', message);
}
