import { LlmChatError } from '../errors.js';
import { pullFrom } from '../internal/push-source.js';
import { collectTurnResult } from '../turns/collect-turn-result.js';
import type { RunningTurn } from '../turns/running-turn.js';
import type { TurnRef } from '../turns/turn-log.js';
import type { OwnerWatchdog } from '../turns/turn-manager.js';
import type { HandlerContext } from './handler-context.js';
import { jsonResponse } from './json-response.js';
import { turnEventResponse } from './turn-sse.js';

/**
 * Answers a `/chat` request with a turn: the SSE stream of its events (the first reader), or the
 * gateway's JSON once it ends. Under `stopOnDisconnect` the client going away stops the turn.
 * A turn run elsewhere is read with `watchdog`, which takes it over if its process dies.
 * @internal
 */
export async function respondWithTurn(
  context: HandlerContext,
  request: Request,
  ref: TurnRef,
  streaming: boolean,
  turn?: RunningTurn,
  watchdog?: OwnerWatchdog,
): Promise<Response> {
  const stopOnDisconnect = context.options.stopOnDisconnect === true && turn !== undefined;
  const clientGone = () => turn?.abort(new LlmChatError('ABORTED', 'The client went away.'));
  // A client already gone by now (it left while the turn was being set up) stops it at once.
  if (stopOnDisconnect && request.signal.aborted) clientGone();
  if (streaming) {
    const reader = new AbortController();
    // A host that hands us its request's signal (handler.fetch) tells us of a client gone that way too.
    if (stopOnDisconnect) request.signal.addEventListener('abort', clientGone, { once: true });
    // The turn this request started is read from its memory, even if it has ended meanwhile:
    // the log may not hold all of it (a conversation deleted meanwhile, a turn cut before its write).
    const events = turn
      ? turn.starterFeed({ paced: stopOnDisconnect })
      : context.turns.follow(ref, 0, reader.signal, watchdog);
    // Held by the answer when listened to: on Node a Request's signal hears the one the host gave
    // only while the Request lives (undici links the two weakly).
    const listened = stopOnDisconnect ? request : undefined;
    return turnEventResponse(context, ref.turnId, events, {
      onCancel: () => {
        reader.abort();
        if (listened) {
          listened.signal.removeEventListener('abort', clientGone);
          clientGone();
        }
      },
    });
  }
  if (stopOnDisconnect) request.signal.addEventListener('abort', clientGone, { once: true });
  try {
    const events = turn
      ? pullFrom(turn.starterFeed({ paced: false }))
      : context.turns.read(ref, 0, undefined, watchdog);
    const result = await collectTurnResult(events);
    return jsonResponse(200, { user_id: ref.userId, ...result }, { 'x-turn-id': ref.turnId });
  } finally {
    request.signal.removeEventListener('abort', clientGone);
  }
}
