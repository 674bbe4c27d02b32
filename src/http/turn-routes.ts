import { namedConversation } from '../conversations/conversation-id.js';
import { LlmChatError } from '../errors.js';
import { parseBody } from '../schemas.js';
import { TurnLog } from '../turns/turn-log.js';
import { authenticate, type HandlerContext, resolveUserId } from './handler-context.js';
import { jsonResponse } from './json-response.js';
import { readJsonBody } from './read-json-body.js';
import { readConversationQuery, stopBodySchema } from './turn-schemas.js';
import { lostTurnResponse, turnEventResponse } from './turn-sse.js';
import { takeOverTurn, takeoverWatchdog } from './turn-takeover.js';

/**
 * `GET /chat/events/:user_id`: replays a turn after the client's last id (`Last-Event-ID`
 * header or `last_event_id` query), or the conversation's latest turn from its start, then
 * follows it to its end, from any process. 204 when there is nothing to read.
 * @internal
 */
export async function chatEventsRoute(
  context: HandlerContext,
  request: Request,
  pathUserId: string,
): Promise<Response> {
  const user = await authenticate(context, request);
  const userId = resolveUserId(user, pathUserId);
  const url = new URL(request.url, 'http://localhost');
  const conversationId = readConversationQuery(url);
  const lastId = request.headers.get('last-event-id') || url.searchParams.get('last_event_id') || undefined;
  const turns = context.turns;
  let turnId: string;
  let afterSeq = 0;
  if (lastId === undefined) {
    const latest = await turns.log.getLatest(userId, conversationId);
    if (latest === null) return noContent();
    turnId = latest.turnId;
  } else {
    // The end marker of a stream already told the reader everything.
    if (lastId.endsWith(':end')) return noContent();
    const parsed = TurnLog.parseEventId(lastId);
    if (parsed === undefined) return lostTurnResponse(context, 'unknown', lostError());
    turnId = parsed.turnId;
    afterSeq = parsed.seq;
  }
  const ref = { userId, turnId, ...(conversationId ? { conversationId } : {}) };
  const state = await turns.state(ref, afterSeq);
  if (state === 'over' || (state === 'gone' && lastId === undefined)) return noContent();
  if (state === 'gone') return lostTurnResponse(context, turnId, lostError());
  // A reader arriving for a turn whose process died takes it over; one already following does
  // when the turn goes quiet for a lease.
  const asker = { context, request, user, ...(conversationId ? { conversationId } : {}) };
  await takeOverTurn(asker);
  const reader = new AbortController();
  return turnEventResponse(context, turnId, turns.follow(ref, afterSeq, reader.signal, takeoverWatchdog(asker)), {
    onCancel: () => reader.abort(),
  });
}

/**
 * `POST /stop`: stops the running turn of the user's conversation on whichever process runs it,
 * and answers once it has ended (or after a few seconds).
 * @internal
 */
export async function stopRoute(context: HandlerContext, request: Request): Promise<Response> {
  const user = await authenticate(context, request);
  const body = parseBody(stopBodySchema, await readJsonBody(request, context.settings.maxBodyBytes));
  const userId = resolveUserId(user, body.user_id);
  const conversationId = namedConversation(body.conversation_id);
  // A turn whose process died is taken over first, so the stop reaches a process that runs it.
  await takeOverTurn({ context, request, user, ...(conversationId ? { conversationId } : {}) });
  // An empty `turn_id`, like an empty `user_id`, names nothing: the conversation's running turn.
  const outcome = await context.turns.stop(userId, conversationId, body.turn_id || undefined);
  return jsonResponse(200, {
    status: outcome.status,
    user_id: userId,
    ...(outcome.status === 'stopped' ? { turn_id: outcome.turnId } : {}),
  });
}

function noContent(): Response {
  return new Response(null, { status: 204 });
}

function lostError(): LlmChatError {
  return new LlmChatError('RESUME_LOST', 'The events of this turn are no longer retained.');
}
