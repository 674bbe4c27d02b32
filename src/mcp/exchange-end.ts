import { McpError } from '@modelcontextprotocol/sdk/types.js';

/**
 * Why an MCP HTTP exchange ended without delivering the answer to its request:
 * - `incomplete`: the response ended (or broke) before the JSON-RPC answer came;
 * - `too_large`: one message of the response was longer than the byte limit, so it was cut off;
 * - `cancelled`: the call timed out or was aborted, or the connection closed, and the response
 *   was torn down.
 */
export type ExchangeEndReason = 'incomplete' | 'too_large' | 'cancelled';

/** Key under `_meta` / `data` that marks a message this library made up for an ended exchange. */
export const EXCHANGE_END_KEY = 'io.github.mcp-llmchat/exchange-end';

// JSON-RPC leaves -32000..-32099 to implementations; this one is "the transport gave up".
const EXCHANGE_END_CODE = -32_098;

/** Thrown (as a rejected body read) when one MCP message is longer than the byte limit. */
export class McpMessageTooLargeError extends Error {
  constructor(readonly limitBytes: number) {
    super(`An MCP message was longer than ${limitBytes} bytes and was cut off.`);
    this.name = 'McpMessageTooLargeError';
  }
}

/** The error message the client sees for `reason`. */
function exchangeEndMessage(reason: ExchangeEndReason, limitBytes: number): string {
  switch (reason) {
    case 'too_large':
      return `The MCP server's answer was longer than ${limitBytes} bytes and was cut off.`;
    case 'cancelled':
      return 'The MCP request was cancelled.';
    default:
      return 'The MCP server ended its response without an answer.';
  }
}

/** The JSON-RPC error response that fails request `id` for `reason`. @internal */
export function exchangeEndError(id: string | number, reason: ExchangeEndReason, limitBytes: number) {
  return {
    jsonrpc: '2.0' as const,
    id,
    error: {
      code: EXCHANGE_END_CODE,
      message: exchangeEndMessage(reason, limitBytes),
      data: { [EXCHANGE_END_KEY]: reason, limitBytes },
    },
  };
}

/** The reason an SDK error carries when it came from {@link exchangeEndError}. @internal */
export function exchangeEndReasonOf(error: unknown): ExchangeEndReason | undefined {
  if (!(error instanceof McpError) || error.code !== EXCHANGE_END_CODE) return undefined;
  const data = error.data as Record<string, unknown> | undefined;
  const reason = data?.[EXCHANGE_END_KEY];
  return reason === 'incomplete' || reason === 'too_large' || reason === 'cancelled' ? reason : undefined;
}
