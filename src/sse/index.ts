/**
 * `mcp-llmchat/sse`: server-sent events for hosts that stream their own responses: the frame
 * encoder, the response headers and the streaming pipeline (coalescing, backpressure, keep-alives).
 * @packageDocumentation
 */
export type { SseMessage } from './encode-sse-event.js';
export { encodeSseComment, encodeSseEvent } from './encode-sse-event.js';
export type { SseChunksOptions } from './sse-chunks.js';
export { sseChunks } from './sse-chunks.js';
export { SSE_HEADERS } from './sse-headers.js';
export { chunksToStream, toSseStream } from './to-sse-stream.js';
