import { isLlmChatError } from '../errors.js';
import type { PushSource } from '../internal/push-source.js';
import { encodeSseEvent, type SseMessage } from '../sse/encode-sse-event.js';
import { pipeableSseChunks } from '../sse/sse-chunks.js';
import { SSE_HEADERS } from '../sse/sse-headers.js';
import { type RecordedEvent, TurnLog } from '../turns/turn-log.js';
import type { HandlerContext } from './handler-context.js';
import { chunkedResponse } from './node-body.js';

/**
 * The id of the frame that tells a reader nothing more will come of this turn: a browser
 * `EventSource` that reconnects with it gets 204 and stops.
 * @internal
 */
export function endEventId(turnId: string): string {
  return `${turnId}:end`;
}

/** Options of {@link turnEventResponse}. @internal */
export interface TurnEventResponseOptions {
  /** Called when the reader goes away before the turn's end. */
  onCancel?: () => void;
}

/**
 * An SSE response that reads one turn: each recorded event with its id `<turnId>:<seq>`, and a
 * failure of the reading itself (`RESUME_LOST`, storage down) as one last `error` event.
 * @internal
 */
export function turnEventResponse(
  context: HandlerContext,
  turnId: string,
  events: AsyncIterable<RecordedEvent> | PushSource<RecordedEvent>,
  options: TurnEventResponseOptions = {},
): Response {
  // Each event is encoded as it comes; from a turn of this process (a push source), in the step
  // that records it, and written to the socket in that step too by the Node bridge.
  const chunks = pipeableSseChunks(events, {
    encode: (event) => encodeSseEvent({ id: TurnLog.eventId(turnId, event.seq), event: event.event, data: event.data }),
    encodeError: (error) => encodeSseEvent(readFailureFrame(turnId, error)),
    keepAliveMs: context.settings.keepAliveMs,
    ...(options.onCancel ? { onCancel: options.onCancel } : {}),
  });
  // A real web body; the Node bridge may write the same chunks straight to the socket instead.
  return chunkedResponse(chunks, { status: 200, headers: { ...SSE_HEADERS, 'x-turn-id': turnId } });
}

/** An SSE stream of a single `error` event, for a resume that cannot be served. @internal */
export function lostTurnResponse(context: HandlerContext, turnId: string, error: unknown): Response {
  return turnEventResponse(context, turnId, failing(error));
}

async function* failing(error: unknown): AsyncGenerator<RecordedEvent, void> {
  yield* [];
  throw error;
}

/**
 * The last frame of a stream whose reading failed (`RESUME_LOST`, storage down). Only a failure
 * that ends the turn for this reader carries the end id, which an `EventSource` reconnects with
 * and gets 204, stopping it: a read that may work again (storage down for a while) has no id, so
 * the client keeps the last one it saw and its reconnect goes on from there.
 */
function readFailureFrame(turnId: string, error: unknown): SseMessage {
  const known = isLlmChatError(error);
  const final = !known || !error.recoverable || error.code === 'RESUME_LOST';
  return {
    ...(final ? { id: endEventId(turnId) } : {}),
    event: 'error',
    data: {
      type: 'error',
      error: known ? error.message : 'An unexpected error occurred.',
      recoverable: known ? error.recoverable : false,
      code: known ? error.code : 'INTERNAL',
      turn_id: turnId,
    },
  };
}
