import type { ChatHistory } from '../chat/chat-history.js';
import { LlmChatError } from '../errors.js';
import { type ChatBody, chatBodySchema, parseBody } from '../schemas.js';
import type { RunningTurn } from '../turns/running-turn.js';
import type { TranscriptMessage } from '../types.js';
import type { ChatUser } from './chat-handler-options.js';
import { respondWithTurn } from './chat-turn.js';
import { acquireLive, authenticate, type HandlerContext, resolveUserId } from './handler-context.js';
import { abandonSend, claimSend, type SendClaim } from './idempotent-send.js';
import { readJsonBody } from './read-json-body.js';
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
  // The host's limits come first: a refused request costs no lock, session read or connection.
  const ticket = await context.ops.admit(user, userId, request);
  let claim: SendClaim;
  try {
    claim = await claimSend(context, request, userId, undefined, body.message);
  } catch (error) {
    ticket.release();
    throw error;
  }
  if (claim.kind === 'attach') {
    // A retry reads the first send's turn: it runs nothing, so it holds no admission.
    ticket.release();
    return respondWithTurn(context, request, claim.ref, body.streaming);
  }
  let turn: RunningTurn;
  try {
    turn = await startNewTurn(context, request, { user, body, claim, ticket });
  } catch (error) {
    ticket.release();
    // Only a send whose turn never started lets its key go; a started turn's outcome, even an
    // error, is what a retry gets.
    await abandonSend(context, claim, userId, undefined, error);
    throw error;
  }
  return respondWithTurn(context, request, turn.ref, body.streaming, turn);
}

/**
 * Takes the session, the lock and the live connection, then starts the turn. Once the lock is
 * held, one path lets it and the live session go whatever happens: the `finally` below, or, once
 * the turn runs, the turn's end (which also lets the admission ticket go).
 */
async function startNewTurn(
  context: HandlerContext,
  request: Request,
  { user, body, claim, ticket }: { user: ChatUser; body: ChatBody; claim: SendClaim; ticket: TurnTicket },
): Promise<RunningTurn> {
  const userId = user.id;
  const start = await startTurn(context, userId, request);
  const scope = new TurnScope(start.lease, context.settings.turnTimeoutMs);
  let turnOwnsScope = false;
  try {
    const live = scope.use(await acquireLive(context, start.stored, request, user));
    const history = turnHistory(context, userId, start.history);
    const hooks = ticket.startTurn({
      userId,
      modelId: start.stored.config.model,
      streaming: body.streaming,
      message: body.message,
    });
    const turn = await context.turns.start({
      userId,
      ...(claim.kind === 'claimed' ? { turnId: claim.turnId } : {}),
      source: (signal) =>
        live.service.chat(body.message, {
          history,
          signal: AbortSignal.any([signal, scope.signal]),
          ...(hooks ? { hooks } : {}),
        }),
      onEnded: async () => {
        await scope.end();
        ticket.release();
      },
    });
    turnOwnsScope = true;
    return turn;
  } finally {
    if (!turnOwnsScope) await scope.end();
  }
}

/** The user's history for one turn: the copy read alongside the lock first, the store after. */
function turnHistory(
  context: HandlerContext,
  userId: string,
  prefetched: Promise<TranscriptMessage[]> | undefined,
): ChatHistory {
  let early = prefetched;
  return {
    load: () => {
      const history = early ?? context.store.getHistory(userId);
      early = undefined;
      return history;
    },
    append: (turn) => context.store.appendTurn(userId, turn),
  };
}
