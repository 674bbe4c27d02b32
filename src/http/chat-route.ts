import { DEFAULT_CONVERSATION_ID, namedConversation } from '../conversations/conversation-id.js';
import { LlmChatError } from '../errors.js';
import { type ChatBody, chatBodySchema, parseBody } from '../schemas.js';
import type { ChatUser } from './chat-handler-options.js';
import { respondWithTurn } from './chat-turn.js';
import { acquireLive, authenticate, type HandlerContext, resolveUserId } from './handler-context.js';
import { abandonSend, claimSend, type SendClaim } from './idempotent-send.js';
import { readJsonBody } from './read-json-body.js';
import { turnAsks } from './turn-asks.js';
import type { TurnTicket } from './turn-ops.js';
import { TurnScope } from './turn-scope.js';
import { startTurn } from './turn-start.js';

/**
 * `POST /chat`: starts one turn under the user's turn lock (across every process sharing the
 * storage) and answers with it, streamed as SSE (the turn's first reader) or as the gateway's
 * JSON. A retry with the same `Idempotency-Key` reads the turn the first send started.
 * @internal
 */
export async function chatRoute(context: HandlerContext, request: Request): Promise<Response> {
  const user = await authenticate(context, request);
  const body = parseBody(chatBodySchema, await readJsonBody(request, context.settings.maxBodyBytes));
  const userId = resolveUserId(user, body.user_id);
  if (body.message.trim() === '') throw new LlmChatError('BAD_REQUEST', 'Message cannot be empty');
  const conversation = namedConversation(body.conversation_id);
  const claim = await claimSend(context, request, userId, conversation, body.message);
  if (claim.kind === 'attach') return respondWithTurn(context, request, claim.ref, body.streaming);
  let ticket: TurnTicket | undefined;
  try {
    // The host's limits come before the lock: a refused request costs no lock, session read or connection.
    ticket = await context.ops.admit(user, userId, request);
    return await runNewTurn(context, request, user, body, claim, ticket);
  } catch (error) {
    ticket?.release();
    await abandonSend(context, claim, userId, conversation, error);
    throw error;
  }
}

/**
 * Takes the session, the lock and the live connection, then starts the turn. Once the lock is
 * held, one path lets it and the live session go whatever happens: the `finally` below, or, once
 * the turn runs, the turn's end.
 */
async function runNewTurn(
  context: HandlerContext,
  request: Request,
  user: ChatUser,
  body: ChatBody,
  claim: SendClaim,
  ticket: TurnTicket,
): Promise<Response> {
  const userId = user.id;
  const conversationId = body.conversation_id ?? DEFAULT_CONVERSATION_ID;
  const start = await startTurn(context, userId, conversationId, request);
  const scope = new TurnScope(start.lease, context.settings.turnTimeoutMs);
  // The host's limit slot goes with the turn's lock, on the same one path.
  const endScope = () => scope.end().finally(() => ticket.release());
  let turnOwnsScope = false;
  try {
    const live = scope.use(await acquireLive(context, start.stored, request, user));
    const history = context.conversations.history(userId, conversationId, start.history, {
      sessionVersion: start.stored.version,
    });
    const hooks = ticket.startTurn({
      userId,
      modelId: start.stored.config.model,
      streaming: body.streaming,
      message: body.message,
    });
    const turn = await context.turns.start({
      userId,
      ...(namedConversation(conversationId) ? { conversationId } : {}),
      ...(claim.kind === 'claimed' ? { turnId: claim.turnId } : {}),
      source: (signal) =>
        live.service.chat(body.message, {
          history,
          signal: AbortSignal.any([signal, scope.signal]),
          ...(hooks ? { hooks } : {}),
          ...turnAsks(context, { userId, conversationId, streaming: body.streaming, tools: live.toolbox }),
        }),
      onEnded: () => endScope(),
    });
    turnOwnsScope = true;
    return respondWithTurn(context, request, turn.ref, body.streaming, turn);
  } finally {
    if (!turnOwnsScope) await endScope();
  }
}
