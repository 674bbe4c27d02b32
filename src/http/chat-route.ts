import type { CacheLease } from '../chat/connection-cache.js';
import { isLlmChatError, LlmChatError } from '../errors.js';
import { type ChatBody, chatBodySchema, parseBody } from '../schemas.js';
import { turnLockKey } from '../session/session-keys.js';
import type { TranscriptMessage } from '../types.js';
import type { ChatUser } from './chat-handler-options.js';
import { respondWithTurn, startChatTurn, type TurnLease } from './chat-turn.js';
import { acquireLive, authenticate, type HandlerContext, resolveUserId } from './handler-context.js';
import { abandonSend, claimSend, type SendClaim } from './idempotent-send.js';
import type { LiveSession } from './live-session.js';
import { readJsonBody } from './read-json-body.js';

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
  const claim = await claimSend(context, request, userId, undefined, body.message);
  if (claim.kind === 'attach') return respondWithTurn(context, request, claim.ref, body.streaming);
  try {
    return await runNewTurn(context, request, user, body, claim);
  } catch (error) {
    await abandonSend(context, claim, userId, undefined, error);
    throw error;
  }
}

/** Takes the lock, the session and its live connection, then starts the turn and answers with it. */
async function runNewTurn(
  context: HandlerContext,
  request: Request,
  user: ChatUser,
  body: ChatBody,
  claim: SendClaim,
): Promise<Response> {
  const userId = user.id;
  // Session, lock and history are requested together: one round trip on Redis instead of three.
  // The lock is requested before the history, and one connection runs commands in order, so a
  // history read that follows a granted lock sees every turn saved before that lock was free.
  // A queued turn waits for the lock first, so it reads its history afterwards.
  const session = context.store.requireSession(userId);
  const locking = holdTurnLock(context, userId, request.signal);
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
  let prefetched = earlyHistory;
  const history = {
    load: (): Promise<TranscriptMessage[]> => {
      const early = prefetched;
      prefetched = undefined;
      return early ?? context.store.getHistory(userId);
    },
    append: (turn: TranscriptMessage[]): Promise<void> => context.store.appendTurn(userId, turn),
  };
  const turn = await startChatTurn(context, {
    userId,
    ...(claim.kind === 'claimed' ? { turnId: claim.turnId } : {}),
    message: body.message,
    lease: turnLock,
    live,
    history,
  });
  return respondWithTurn(context, request, turn.ref, body.streaming, turn);
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
  // The request may give up waiting for the lock; once the turn holds it, the request is only
  // its first reader and its going away must not end the lease.
  const waiting = new AbortController();
  const giveUp = () => waiting.abort(requestSignal.reason);
  requestSignal.addEventListener('abort', giveUp, { once: true });
  ready.then(
    () => requestSignal.removeEventListener('abort', giveUp),
    () => requestSignal.removeEventListener('abort', giveUp),
  );
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
        signal: waiting.signal,
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
