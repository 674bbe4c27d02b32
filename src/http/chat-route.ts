import type { ChatHistory } from '../chat/chat-history.js';
import { LlmChatError } from '../errors.js';
import { chatBodySchema, parseBody } from '../schemas.js';
import { sseChunks } from '../sse/sse-chunks.js';
import { SSE_HEADERS } from '../sse/sse-headers.js';
import type { TranscriptMessage } from '../types.js';
import { encodeChatEvent } from './encode-chat-event.js';
import { acquireLive, authenticate, type HandlerContext, resolveUserId } from './handler-context.js';
import { jsonResponse } from './json-response.js';
import { chunkedResponse } from './node-body.js';
import { readJsonBody } from './read-json-body.js';
import { TurnScope } from './turn-scope.js';
import { startTurn } from './turn-start.js';

/**
 * `POST /chat`: one turn under the user's turn lock (across every process sharing the
 * storage), streamed as SSE or answered as the gateway's JSON.
 *
 * Once the lock is held, one path lets it and the live session go whatever happens: the
 * `finally` below, or, once a stream carries the turn, that stream's end.
 * @internal
 */
export async function chatRoute(context: HandlerContext, request: Request): Promise<Response> {
  const user = await authenticate(context, request);
  const body = parseBody(chatBodySchema, await readJsonBody(request, context.settings.maxBodyBytes));
  const userId = resolveUserId(user, body.user_id);
  if (body.message.trim() === '') throw new LlmChatError('BAD_REQUEST', 'Message cannot be empty');
  // The host's limits come first: a refused request costs no lock, session read or connection.
  const ticket = await context.ops.admit(user, userId, request);
  let start: Awaited<ReturnType<typeof startTurn>>;
  try {
    start = await startTurn(context, userId, request);
  } catch (error) {
    ticket.release();
    throw error;
  }

  const turn = new TurnScope(start.lease, context.settings.turnTimeoutMs);
  // The host's limit slot goes with the turn's lock, on the same one path.
  const endTurn = () => turn.end().finally(() => ticket.release());
  let streamOwnsTurn = false;
  try {
    const live = turn.use(await acquireLive(context, start.stored, request, user));
    const history = turnHistory(context, userId, start.stored.version, start.history);
    const hooks = ticket.startTurn({
      userId,
      modelId: start.stored.config.model,
      streaming: body.streaming,
      message: body.message,
    });
    const options = { history, signal: anySignal(request, turn), ...(hooks ? { hooks } : {}) };
    if (!body.streaming) {
      const result = await live.service.complete(body.message, options);
      return jsonResponse(200, { user_id: userId, ...result });
    }
    const chunks = sseChunks(live.service.chat(body.message, options), {
      encode: encodeChatEvent(),
      keepAliveMs: context.settings.keepAliveMs,
      // The turn runs to its end whether or not anyone reads the response (a host may drop it),
      // so its end always comes and lets the lock go.
      eager: true,
      onCancel: () => turn.stop(new LlmChatError('ABORTED', 'The client went away.')),
      // After the turn has wound down (an interrupted turn saved), never before.
      onSettled: () => void endTurn(),
    });
    // A real web body; the Node bridge may write the same chunks straight to the socket instead.
    const response = chunkedResponse(chunks, { status: 200, headers: SSE_HEADERS });
    streamOwnsTurn = true;
    return response;
  } finally {
    if (!streamOwnsTurn) await endTurn();
  }
}

function anySignal(request: Request, turn: TurnScope): AbortSignal {
  return AbortSignal.any([request.signal, turn.signal]);
}

/**
 * The user's history for one turn: the copy read alongside the lock first, the store after. The
 * turn is saved only into the session it started with: after a reconnect or a disconnect while
 * it ran, it is dropped (and logged) rather than written into the new or cleared conversation.
 */
function turnHistory(
  context: HandlerContext,
  userId: string,
  sessionVersion: string,
  prefetched: Promise<TranscriptMessage[]> | undefined,
): ChatHistory {
  let early = prefetched;
  return {
    load: () => {
      const history = early ?? context.store.getHistory(userId);
      early = undefined;
      return history;
    },
    append: async (turn) => {
      if (await context.store.appendTurn(userId, turn, { sessionVersion })) return;
      context.logger?.info?.('A turn was not saved: its session was replaced or closed while it ran.');
    },
  };
}
