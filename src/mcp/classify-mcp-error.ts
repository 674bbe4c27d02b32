import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { exchangeEndReasonOf, McpMessageTooLargeError } from './exchange-end.js';

/**
 * What kind of failure an MCP request ended with:
 * - `timeout`: the SDK's request timer fired (an abort through the request's signal surfaces the
 *   same way, so callers tell the two apart by looking at their own signal);
 * - `session_lost`: the server no longer knows our session, or the connection is gone (HTTP 404,
 *   "session not found", transport closed, server unreachable): a fresh connection may work;
 * - `aborted`: the request's signal was aborted before it was sent;
 * - `too_large`: the answer was longer than the message byte limit and was cut off;
 * - `incomplete`: the server ended the response without an answer;
 * - `other`: anything else (a protocol error the server answered with, invalid output, …).
 */
export type McpFailureKind = 'timeout' | 'session_lost' | 'aborted' | 'too_large' | 'incomplete' | 'other';

// Network errors that mean the server went away (restart, crash, idle connection reset).
const GONE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);

/**
 * Sorts an error thrown by the MCP SDK client into a {@link McpFailureKind}.
 * @internal
 */
export function classifyMcpError(error: unknown): McpFailureKind {
  if (error instanceof McpMessageTooLargeError) return 'too_large';
  const ended = exchangeEndReasonOf(error);
  if (ended === 'too_large' || ended === 'incomplete') return ended;
  if (ended === 'cancelled') return 'aborted';
  if (error instanceof McpError) {
    if (error.code === ErrorCode.RequestTimeout) return 'timeout';
    if (error.code === ErrorCode.ConnectionClosed) return 'session_lost';
    return mentionsLostSession(error.message) ? 'session_lost' : 'other';
  }
  if (error instanceof StreamableHTTPError) {
    return error.code === 404 || mentionsLostSession(error.message) ? 'session_lost' : 'other';
  }
  if (!(error instanceof Error)) return 'other';
  if (error.name === 'AbortError') return 'aborted';
  if (error.message === 'Not connected' || mentionsLostSession(error.message)) return 'session_lost';
  // The SSE transport reports a failed POST as a plain Error naming the status.
  if (/\(HTTP 404\)/.test(error.message)) return 'session_lost';
  if (error.name === 'TypeError' && error.message === 'fetch failed') return 'session_lost';
  const code =
    (error as { code?: unknown; cause?: { code?: unknown } }).code ?? (error.cause as { code?: unknown })?.code;
  return typeof code === 'string' && GONE_CODES.has(code) ? 'session_lost' : 'other';
}

function mentionsLostSession(message: string): boolean {
  return /session not found|unknown session|invalid session|session (has )?expired/i.test(message);
}
