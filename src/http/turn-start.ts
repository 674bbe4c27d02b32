import { isLlmChatError, LlmChatError } from '../errors.js';
import { type LockLease, LockManager } from '../lock/lock-manager.js';
import { conversationTurnLockKey } from '../session/session-keys.js';
import type { StoredSession } from '../session/session-store.js';
import type { EarlyTurnRecord } from '../turns/turn-manager.js';
import type { TranscriptMessage } from '../types.js';
import type { HandlerContext } from './handler-context.js';

/** What a turn needs before it may start: the session, the held turn lock, and maybe its history. @internal */
export interface TurnStart {
  stored: StoredSession;
  lease: LockLease;
  /** The history, already requested alongside the lock; `undefined` when it must be read later. */
  history: Promise<TranscriptMessage[]> | undefined;
  /** The turn's record, sent alongside the lock when the storage can (see `recordUnderLock`). */
  early?: EarlyTurnRecord;
}

/** The turn about to start, for a record sent with its lock. @internal */
export interface TurnToRecord {
  turnId: string;
  message: string;
  /** The named conversation, `undefined` for the default one (as the turn is recorded). */
  conversationId?: string;
}

const noop = (): void => {};

/**
 * Takes the user's turn lock and reads the user's session and history, together: two commands
 * in one round trip on Redis. The lock is requested before the session and history, and one
 * connection runs commands in order, so a history read that follows a granted lock sees every
 * turn saved before that lock was free. A queued turn waits for the lock first, so it reads its
 * history afterwards. With `turn`, and a storage that can, the turn's latest-turn record goes in
 * the same round trip, written only if the lock is granted (`early`; taken back here when the
 * session is missing).
 *
 * Every promise made here is handled on every path: a missing session while the lock is refused
 * (or granted) must not leave a rejection, or a lock, behind.
 * @throws LlmChatError the session's errors first (`SESSION_NOT_FOUND`, …), then the lock's
 * (`TURN_IN_PROGRESS`, `BACKEND_UNAVAILABLE`, `ABORTED`).
 * @internal
 */
export async function startTurn(
  context: HandlerContext,
  userId: string,
  conversationId: string,
  request: Request,
  turn?: TurnToRecord,
): Promise<TurnStart> {
  const queue = context.settings.turnPolicy === 'queue';
  const lockKey = conversationTurnLockKey(userId, conversationId);
  // A queued turn's lock comes later: its record follows the grant, the usual way.
  const token = turn && !queue && context.turns.log.recordsUnderLock ? LockManager.newToken() : undefined;
  // A queued turn reads its session now (a missing one must not wait for the lock) and its
  // history once the lock is granted.
  const queuedSession = queue ? context.store.requireSession(userId) : undefined;
  // A queued request may give up waiting for the lock; once the turn holds it, the request is
  // only its first reader, and its going away must not end the lease (CONTRACT §3, since 0.2).
  // A missing session stops the wait too. Without a queue there is no wait, only one attempt:
  // no controller then (on Node 20 a signal costs about 5 µs to create).
  const waiting = queue ? waitingSignal(request) : undefined;
  // Already aborted, the request's own signal only refuses the attempt; it is never kept.
  const signal = waiting?.controller.signal ?? (request.signal.aborted ? request.signal : undefined);
  const leasing = context.locks.hold(lockKey, {
    ttlMs: context.settings.lockTtlMs,
    waitMs: queue ? context.settings.turnQueueTimeoutMs : 0,
    ...(signal ? { signal } : {}),
    ...(token ? { token } : {}),
  });
  if (waiting) leasing.then(waiting.stopForwarding, waiting.stopForwarding);
  // Otherwise session and history are read together, requested after the lock (see above).
  const { session, history }: { session: Promise<StoredSession>; history?: Promise<TranscriptMessage[]> } =
    queuedSession ? { session: queuedSession } : context.store.readSessionAndHistory(userId, conversationId);
  const early =
    turn && token
      ? context.turns.recordUnderLock(
          {
            userId,
            turnId: turn.turnId,
            message: turn.message,
            ...(turn.conversationId ? { conversationId: turn.conversationId } : {}),
          },
          { key: lockKey, token },
        )
      : undefined;
  // Handled now, awaited below: any may settle while another is still awaited.
  leasing.catch(noop);
  session.catch(noop);
  history?.catch(noop);

  let stored: StoredSession;
  try {
    stored = await session;
  } catch (error) {
    // No turn: stop a queued wait, and let go of a lock granted meanwhile (its record first).
    waiting?.controller.abort();
    leasing.then(async (lease) => {
      await early?.undo();
      await lease.release();
    }, noop);
    throw error;
  }
  try {
    return { stored, lease: await leasing, history, ...(early ? { early } : {}) };
  } catch (error) {
    // A refused lock left the record alone; anything else that stored it takes it back (and a
    // record write that timed out but lands late is taken back by the storage itself).
    void early?.undo();
    if (isLlmChatError(error) && error.code === 'LOCK_TIMEOUT') {
      throw new LlmChatError('TURN_IN_PROGRESS', 'A chat turn is already running for this user.', { cause: error });
    }
    throw error;
  }
}

/** A wait for the lock that ends when the request gives up (or the caller aborts it). */
function waitingSignal(request: Request): { controller: AbortController; stopForwarding: () => void } {
  const controller = new AbortController();
  const giveUp = () => controller.abort(request.signal.reason);
  if (request.signal.aborted) giveUp();
  else request.signal.addEventListener('abort', giveUp, { once: true });
  return { controller, stopForwarding: () => request.signal.removeEventListener('abort', giveUp) };
}
