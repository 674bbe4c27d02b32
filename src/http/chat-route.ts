import { DEFAULT_CONVERSATION_ID, namedConversation } from '../conversations/conversation-id.js';
import { LlmChatError } from '../errors.js';
import { nextEventLoopTurn } from '../internal/next-event-loop-turn.js';
import { type ChatBody, chatBodySchema, parseBody } from '../schemas.js';
import { fencedHistory } from '../turns/fenced-history.js';
import { isStopReason } from '../turns/running-turn.js';
import { TurnLog } from '../turns/turn-log.js';
import { UnfinishedTurnError } from '../turns/unfinished-turn-error.js';
import type { ChatUser } from './chat-handler-options.js';
import { respondWithTurn } from './chat-turn.js';
import { acquireLive, authenticate, type HandlerContext, resolveUserId } from './handler-context.js';
import { abandonSend, claimSend, type SendClaim } from './idempotent-send.js';
import { readJsonBody } from './read-json-body.js';
import { turnAsks } from './turn-asks.js';
import type { TurnTicket } from './turn-ops.js';
import { TurnScope } from './turn-scope.js';
import { startTurn } from './turn-start.js';
import { takeOverTurn, takeoverWatchdog } from './turn-takeover.js';

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
  if (claim.kind === 'attach') {
    // A retry of a send whose turn lost its process finishes that turn rather than waiting on it.
    const asker = { context, request, user, ...(conversation ? { conversationId: conversation } : {}) };
    await takeOverTurn(asker);
    return respondWithTurn(context, request, claim.ref, body.streaming, undefined, takeoverWatchdog(asker));
  }
  let ticket: TurnTicket | undefined;
  let send: NewSend | undefined;
  try {
    // The host's limits come before the lock: a refused request costs no lock, session read or connection.
    ticket = await context.ops.admit(user, userId, request);
    send = { context, request, user, body, claim, ticket, started: false };
    return await runNewTurn(send);
  } catch (error) {
    ticket?.release();
    // A turn that started (a non-streaming one that failed) keeps its key: its log holds its
    // events and its end, and a retry reads them. Only a send that never started lets it go.
    if (send?.started !== true) await abandonSend(context, claim, userId, conversation, error);
    throw error;
  }
}

/**
 * Starts the send's turn. When the conversation's last turn never ended and its process is gone
 * (found under the lock, in the same step that records the new turn), that turn is finished
 * first: this send then meets it running (409, or a wait under the queue policy).
 */
async function runNewTurn(send: NewSend): Promise<Response> {
  try {
    return await startNewTurn(send);
  } catch (error) {
    if (!(error instanceof UnfinishedTurnError)) throw error;
    const { context, request, user, body } = send;
    const named = namedConversation(body.conversation_id ?? DEFAULT_CONVERSATION_ID);
    await takeOverTurn({ context, request, user, ...(named ? { conversationId: named } : {}) });
    return await startNewTurn(send);
  }
}

/** A send let through the host's limits, about to start its turn. */
interface NewSend {
  context: HandlerContext;
  request: Request;
  user: ChatUser;
  body: ChatBody;
  claim: SendClaim;
  ticket: TurnTicket;
  /** Set once the turn runs: from then on it owns the lock and scope, and its log answers for the key. */
  started: boolean;
}

/**
 * Takes the session, the lock and the live connection, then starts the turn. Once the lock is
 * held, one path lets it and the live session go whatever happens: the `finally` below, or, once
 * the turn runs, the turn's end (which lets the host's limit slot go too; on failure the caller
 * does).
 */
async function startNewTurn(send: NewSend): Promise<Response> {
  const { context, request, user, body, claim, ticket } = send;
  const userId = user.id;
  const conversationId = body.conversation_id ?? DEFAULT_CONVERSATION_ID;
  const named = namedConversation(conversationId);
  const turnId = claim.kind === 'claimed' ? claim.turnId : TurnLog.newTurnId();
  // Before the turn's record can be seen (it may go with the lock's request).
  const startedAt = Date.now();
  const start = await startTurn(context, userId, conversationId, request, {
    turnId,
    message: body.message,
    ...(named ? { conversationId } : {}),
  });
  const scope = new TurnScope(start.lease, context.settings.turnTimeoutMs);
  try {
    // A first turn in one conversation too many is refused before anything of it is saved (the
    // record sent with the lock is taken back below). It costs a read only when the
    // conversation's history is empty; a queued turn reads its history here instead of later.
    const history = start.history ?? context.store.getHistory(userId, conversationId);
    history.catch(() => undefined);
    await context.conversations.admit(userId, conversationId, history);
    scope.keep(await context.slots.take(userId));
    const live = scope.use(await acquireLive(context, start.stored, request, user));
    const ref = { userId, turnId, ...(named ? { conversationId: named } : {}) };
    const turn = await context.turns.start({
      userId,
      ...(named ? { conversationId } : {}),
      turnId,
      message: body.message,
      // Called once the turn is recorded, so observers see only turns that run.
      source: (signal, onToken) => {
        const hooks = ticket.startTurn({
          userId,
          ...(named ? { conversationId: named } : {}),
          modelId: start.stored.config.model,
          streaming: body.streaming,
          message: body.message,
        });
        return live.service.chat(body.message, {
          // Saved only while no other process has taken the turn over (epoch 1: its first owner).
          history: fencedHistory(
            context.conversations.history(userId, conversationId, history, {
              sessionVersion: start.stored.version,
              wasStopped: () => isStopReason(signal.reason),
            }),
            context.turns.log,
            { ref, epoch: 1, startedAt },
            scope,
            context.logger,
          ),
          // The scope's stops (a lost lease, the deadline) abort this signal too: see `stopsTurn` below.
          signal,
          onToken,
          ...(hooks ? { hooks } : {}),
          ...turnAsks(context, {
            userId,
            conversationId,
            sessionVersion: start.stored.version,
            streaming: body.streaming,
            tools: live.toolbox,
          }),
        });
      },
      // The host's limit slot goes with the turn's lock, on the same one path.
      onEnded: () => scope.end().finally(() => ticket.release()),
      lease: start.lease,
      ...(start.early ? { early: start.early } : {}),
    });
    // From here the turn owns the scope (it lets the lock go at its end) and its log the key.
    send.started = true;
    scope.stopsTurn(turn);
    // The provider call has just begun, but a fetch takes several promise steps before its
    // request is on the wire. Building the response now would run ahead of them and hold the
    // request back (about 0.1-0.2 ms in the bench): it waits for a later event-loop turn instead.
    await nextEventLoopTurn();
    return respondWithTurn(context, request, turn.ref, body.streaming, turn);
  } finally {
    if (!send.started) {
      // No turn started: the record sent with the lock goes back to what it was, before the lock.
      await start.early?.undo();
      await scope.end();
    }
  }
}
