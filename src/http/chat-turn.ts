import type { ChatHistory } from '../chat/chat-history.js';
import type { CacheLease } from '../chat/connection-cache.js';
import { LlmChatError } from '../errors.js';
import { unrefTimer } from '../internal/unref-timer.js';
import { collectTurnResult } from '../turns/collect-turn-result.js';
import type { RunningTurn } from '../turns/running-turn.js';
import type { TurnRef } from '../turns/turn-log.js';
import type { HandlerContext } from './handler-context.js';
import { jsonResponse } from './json-response.js';
import type { LiveSession } from './live-session.js';
import { turnEventResponse } from './turn-sse.js';

/** A held turn lock: its lease signal, and a way to let it go. @internal */
export interface TurnLease {
  signal: AbortSignal;
  release(): void;
}

/** What {@link startChatTurn} needs: everything the route gathered under the lock. @internal */
export interface ChatTurnInput {
  userId: string;
  conversationId?: string;
  /** The id an idempotency key already reserved for this turn. */
  turnId?: string;
  message: string;
  lease: TurnLease;
  live: CacheLease<LiveSession>;
  history: ChatHistory;
}

/**
 * Starts a chat turn detached from the request: it runs under the conversation's lease (renewed
 * while it runs) until its end or `turnTimeoutMs`, records its events, then releases the lease
 * and the live session. Whoever reads it, and whether anyone does, makes no difference.
 * @internal
 */
export async function startChatTurn(context: HandlerContext, input: ChatTurnInput): Promise<RunningTurn> {
  const turnTimeoutMs = context.options.turnTimeoutMs ?? 600_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    input.live.release();
    input.lease.release();
  };
  let turn: RunningTurn;
  try {
    turn = await context.turns.start({
      userId: input.userId,
      ...(input.conversationId ? { conversationId: input.conversationId } : {}),
      ...(input.turnId ? { turnId: input.turnId } : {}),
      source: (signal) =>
        input.live.value.service.chat(input.message, {
          history: input.history,
          signal: AbortSignal.any([signal, input.lease.signal]),
        }),
      onEnded: finish,
    });
  } catch (error) {
    finish();
    throw error;
  }
  timer = setTimeout(() => {
    turn.abort(new LlmChatError('TIMEOUT', 'The chat turn took too long and was stopped.'));
  }, turnTimeoutMs);
  unrefTimer(timer);
  return turn;
}

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
    return turnEventResponse(context, request, ref.turnId, events, {
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
