/**
 * Response headers of every event stream, lower-case names.
 *
 * - `content-type` names the charset so no proxy or client guesses one.
 * - `cache-control: no-transform` stops compressing proxies from buffering frames.
 * - `x-accel-buffering: no` turns off nginx response buffering for this response.
 *
 * `Connection: keep-alive` is deliberately absent: HTTP/2 forbids connection-specific headers, and
 * the Node bridge keeps HTTP/1.1 connections open by itself.
 *
 * @example
 * new Response(toSseStream(events, { encode }), { headers: SSE_HEADERS });
 */
export const SSE_HEADERS = Object.freeze({
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
} as const);
