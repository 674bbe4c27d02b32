import { DEFAULT_CONVERSATION_ID } from '../conversations/conversation-id.js';
import { LlmChatError } from '../errors.js';
import { chatBodySchema, parseBody } from '../schemas.js';
import { sseChunks } from '../sse/sse-chunks.js';
import { SSE_HEADERS } from '../sse/sse-headers.js';
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
  const conversationId = body.conversation_id ?? DEFAULT_CONVERSATION_ID;
  const start = await startTurn(context, userId, conversationId, request);

  const turn = new TurnScope(start.lease, context.settings.turnTimeoutMs);
  let streamOwnsTurn = false;
  try {
    const live = turn.use(await acquireLive(context, start.stored, request, user));
    const history = context.conversations.history(userId, conversationId, start.history);
    const options = { history, signal: anySignal(request, turn) };
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
      onSettled: () => void turn.end(),
    });
    // A real web body; the Node bridge may write the same chunks straight to the socket instead.
    const response = chunkedResponse(chunks, { status: 200, headers: SSE_HEADERS });
    streamOwnsTurn = true;
    return response;
  } finally {
    if (!streamOwnsTurn) await turn.end();
  }
}

function anySignal(request: Request, turn: TurnScope): AbortSignal {
  return AbortSignal.any([request.signal, turn.signal]);
}
