import type { CacheLease } from '../chat/connection-cache.js';
import { isLlmChatError, LlmChatError } from '../errors.js';
import { type ChatBody, chatBodySchema, parseBody } from '../schemas.js';
import { turnLockKey } from '../session/session-keys.js';
import { sseChunks } from '../sse/sse-chunks.js';
import { SSE_HEADERS } from '../sse/sse-headers.js';
import { chunksToStream } from '../sse/to-sse-stream.js';
import type { TranscriptMessage } from '../types.js';
import type { ChatUser } from './chat-handler-options.js';
import { encodeChatEvent } from './encode-chat-event.js';
import { acquireLive, authenticate, type HandlerContext, resolveUserId } from './handler-context.js';
import { jsonResponse } from './json-response.js';
import type { LiveSession } from './live-session.js';
import { getNodeRequestBody, setNodeBody } from './node-body.js';
import { readJsonBody } from './read-json-body.js';
import type { TurnTicket } from './turn-ops.js';

/** A held turn lock: its lease signal, and a way to let it go. */
interface TurnLease {
  signal: AbortSignal;
  release(): void;
}

/**
 * `POST /chat`: one turn under the user's turn lock (across every process sharing the
 * storage), streamed as SSE or answered as the gateway's JSON.
 * @internal
 */
export async function chatRoute(context: HandlerContext, request: Request): Promise<Response> {
  const user = await authenticate(context, request);
  const body = parseBody(chatBodySchema, await readJsonBody(request, context.maxBodyBytes));
  const userId = resolveUserId(user, body.user_id);
  if (body.message.trim() === '') throw new LlmChatError('BAD_REQUEST', 'Message cannot be empty');
  // The host's limits come first: a refused request costs no lock, session read or connection.
  const ticket = await context.ops.admit(user, userId, request);
  try {
    return await runChat(context, request, { user, userId, body, ticket });
  } catch (error) {
    ticket.release();
    throw error;
  }
}

async function runChat(
  context: HandlerContext,
  request: Request,
  { user, userId, body, ticket }: { user: ChatUser; userId: string; body: ChatBody; ticket: TurnTicket },
): Promise<Response> {
  // Session, lock and history are requested together: one round trip on Redis instead of three.
  // The lock is requested before the history, and one connection runs commands in order, so a
  // history read that follows a granted lock sees every turn saved before that lock was free.
  // A queued turn waits for the lock first, so it reads its history afterwards.
  const session = context.store.requireSession(userId);
  const locking = holdTurnLock(context, userId, request.signal);
  // Awaited below, but a refusal can land before the session read does: never unhandled.
  locking.catch(() => {});
  const earlyHistory = context.options.turnPolicy === 'queue' ? undefined : context.store.getHistory(userId);
  // Read below, or dropped when the turn is refused.
  earlyHistory?.catch(() => {});
  let stored: Awaited<typeof session>;
  try {
    stored = await session;
  } catch (error) {
    locking.then(
      (lock) => lock.release(),
      () => {},
    );
    throw error;
  }
  const turnLock = await locking;
  let live: CacheLease<LiveSession>;
  try {
    live = await acquireLive(context, stored, request, user);
  } catch (error) {
    turnLock.release();
    throw error;
  }
  const stop = new AbortController();
  const turnTimeoutMs = context.options.turnTimeoutMs ?? 600_000;
  let deadline = setTimeout(() => {
    stop.abort(new LlmChatError('TIMEOUT', 'The chat turn took too long and was stopped.'));
    // A stream nobody reads never winds down by itself; let its lock go a little later anyway.
    deadline = setTimeout(() => finish(), Math.min(10_000, turnTimeoutMs));
    deadline.unref?.();
  }, turnTimeoutMs);
  deadline.unref?.();
  const signal = AbortSignal.any([request.signal, turnLock.signal, stop.signal]);
  let prefetched = earlyHistory;
  const history = {
    load: (): Promise<TranscriptMessage[]> => {
      const early = prefetched;
      prefetched = undefined;
      return early ?? context.store.getHistory(userId);
    },
    append: (turn: TranscriptMessage[]): Promise<void> => context.store.appendTurn(userId, turn),
  };
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    clearTimeout(deadline);
    live.release();
    turnLock.release();
    ticket.release();
  };
  const hooks = ticket.startTurn({
    userId,
    modelId: stored.config.model,
    streaming: body.streaming,
    message: body.message,
  });

  if (!body.streaming) {
    try {
      const result = await live.value.service.complete(body.message, { history, signal, ...(hooks ? { hooks } : {}) });
      return jsonResponse(200, { user_id: userId, ...result });
    } finally {
      finish();
    }
  }

  const chunks = sseChunks(live.value.service.chat(body.message, { history, signal, ...(hooks ? { hooks } : {}) }), {
    encode: encodeChatEvent(),
    keepAliveMs: context.options.keepAliveMs ?? 15_000,
    onCancel: () => stop.abort(new LlmChatError('ABORTED', 'The client went away.')),
    // After the turn has wound down (an interrupted turn saved), never before.
    onSettled: finish,
  });
  // A request from the Node bridge is answered through the fast path alone: no web stream to build.
  const webBody = getNodeRequestBody(request) === undefined ? chunksToStream(chunks) : null;
  return setNodeBody(new Response(webBody, { status: 200, headers: SSE_HEADERS }), chunks);
}

/**
 * Takes the user's turn lock and holds it (renewing its lease) until released. With the
 * `reject` policy a held lock answers 409 at once; with `queue` it waits up to the deadline.
 */
async function holdTurnLock(context: HandlerContext, userId: string, requestSignal: AbortSignal): Promise<TurnLease> {
  const queue = context.options.turnPolicy === 'queue';
  let releaseHold!: () => void;
  const held = new Promise<void>((resolve) => {
    releaseHold = resolve;
  });
  let acquired!: (signal: AbortSignal) => void;
  let failed!: (error: unknown) => void;
  const ready = new Promise<AbortSignal>((resolve, reject) => {
    acquired = resolve;
    failed = reject;
  });
  context.locks
    .using(
      turnLockKey(userId),
      async (leaseSignal) => {
        acquired(leaseSignal);
        await held;
      },
      {
        ttlMs: context.options.lockTtlMs ?? 30_000,
        waitMs: queue ? (context.options.turnQueueTimeoutMs ?? 30_000) : 0,
        signal: requestSignal,
      },
    )
    // Rejects `ready` when the lock was never acquired; once it was, a lost lease surfaces
    // through the lease signal instead and this settles nothing.
    .catch(failed);
  try {
    return { signal: await ready, release: releaseHold };
  } catch (error) {
    if (isLlmChatError(error) && error.code === 'LOCK_TIMEOUT') {
      throw new LlmChatError('TURN_IN_PROGRESS', 'A chat turn is already running for this user.', { cause: error });
    }
    throw error;
  }
}
