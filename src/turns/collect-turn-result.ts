import { ERROR_CODES, type ErrorCode, LlmChatError } from '../errors.js';
import type { RecordedEvent } from './turn-log.js';

/** The non-streaming answer of a turn: the gateway's shape plus the turn's id. */
export interface TurnResult {
  response: string;
  tool_used: boolean;
  tools: string[];
  tool_invocations: Record<string, unknown>[];
  elapsed_ms: number;
  usage?: unknown;
  turn_id?: string;
  stopped?: boolean;
}

/**
 * Reads a turn to its end and builds the non-streaming answer from its events, so a retried
 * request gets the same answer as the first, from any process.
 * @throws LlmChatError the turn's own error when it ended with `error`.
 */
export async function collectTurnResult(events: AsyncIterable<RecordedEvent>): Promise<TurnResult> {
  let response = '';
  const invocations: Record<string, unknown>[] = [];
  for await (const { event, data } of events) {
    if (event === 'token') response += typeof data.content === 'string' ? data.content : '';
    else if (event === 'final') {
      const result: TurnResult = {
        response,
        tool_used: data.tool_used === true,
        tools: Array.isArray(data.tools) ? (data.tools as string[]) : [],
        tool_invocations: invocations,
        elapsed_ms: typeof data.elapsed_ms === 'number' ? data.elapsed_ms : 0,
      };
      if (data.usage !== undefined) result.usage = data.usage;
      if (typeof data.turn_id === 'string') result.turn_id = data.turn_id;
      if (data.stopped === true) result.stopped = true;
      return result;
    } else if (event === 'error') {
      const code = (ERROR_CODES as readonly string[]).includes(String(data.code))
        ? (data.code as ErrorCode)
        : 'INTERNAL';
      const retryAfterMs = typeof data.retry_after_ms === 'number' ? data.retry_after_ms : undefined;
      throw new LlmChatError(
        code,
        typeof data.error === 'string' ? data.error : 'The chat turn failed.',
        retryAfterMs === undefined ? {} : { retryAfterMs },
      );
    } else invocations.push(data);
  }
  throw new LlmChatError('INTERNAL', 'The chat turn ended without an answer.');
}
