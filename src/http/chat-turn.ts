import { LlmChatError } from '../errors.js';
import { collectTurnResult } from '../turns/collect-turn-result.js';
import type { RunningTurn } from '../turns/running-turn.js';
import type { TurnRef } from '../turns/turn-log.js';
import type { HandlerContext } from './handler-context.js';
import { jsonResponse } from './json-response.js';
import { turnEventResponse } from './turn-sse.js';

/**
 * Answers a `/chat` request with a turn: the SSE stream of its events (the first reader), or the
 * gateway's JSON once it ends. Under `stopOnDisconnect` the client going away stops the turn.
 * @internal
 */
export async function respondWithTurn(
  context: HandlerContext,
  request: Request,
  ref: TurnRef,
  streaming: boolean,
  turn?: RunningTurn,
): Promise<Response> {
  const stopOnDisconnect = context.options.stopOnDisconnect === true && turn !== undefined;
  const clientGone = () => turn?.abort(new LlmChatError('ABORTED', 'The client went away.'));
  if (streaming) {
    const reader = new AbortController();
    const events = stopOnDisconnect ? turn.pacedEvents(reader.signal) : context.turns.read(ref, 0, reader.signal);
    return turnEventResponse(context, ref.turnId, events, {
      onCancel: () => {
        reader.abort();
        if (stopOnDisconnect) clientGone();
      },
    });
  }
  if (stopOnDisconnect) request.signal.addEventListener('abort', clientGone, { once: true });
  try {
    const result = await collectTurnResult(context.turns.read(ref, 0));
    return jsonResponse(200, { user_id: ref.userId, ...result }, { 'x-turn-id': ref.turnId });
  } finally {
    request.signal.removeEventListener('abort', clientGone);
  }
}
