import { isLlmChatError, LlmChatError } from '../errors.js';
import type { LockLease } from '../lock/lock-manager.js';
import { turnLockKey } from '../session/session-keys.js';
import type { StoredSession } from '../session/session-store.js';
import type { TranscriptMessage } from '../types.js';
import type { HandlerContext } from './handler-context.js';

/** What a turn needs before it may start: the session, the held turn lock, and maybe its history. @internal */
export interface TurnStart {
  stored: StoredSession;
  lease: LockLease;
  /** The history, already requested alongside the lock; `undefined` when it must be read later. */
  history: Promise<TranscriptMessage[]> | undefined;
}

const noop = (): void => {};

/**
 * Reads the user's session and takes the user's turn lock, together: one round trip on Redis
 * instead of three. The lock is requested before the history, and one connection runs commands
 * in order, so a history read that follows a granted lock sees every turn saved before that lock
 * was free. A queued turn waits for the lock first, so it reads its history afterwards.
 *
 * Every promise made here is handled on every path: a missing session while the lock is refused
 * (or granted) must not leave a rejection, or a lock, behind.
 * @throws LlmChatError the session's errors first (`SESSION_NOT_FOUND`, …), then the lock's
 * (`TURN_IN_PROGRESS`, `BACKEND_UNAVAILABLE`, `ABORTED`).
 * @internal
 */
export async function startTurn(context: HandlerContext, userId: string, request: Request): Promise<TurnStart> {
  const queue = context.settings.turnPolicy === 'queue';
  const stopWaiting = new AbortController();
  const session = context.store.requireSession(userId);
  const leasing = context.locks.hold(turnLockKey(userId), {
    ttlMs: context.settings.lockTtlMs,
    waitMs: queue ? context.settings.turnQueueTimeoutMs : 0,
    signal: AbortSignal.any([request.signal, stopWaiting.signal]),
  });
  const history = queue ? undefined : context.store.getHistory(userId);
  // Handled now, awaited below: either may settle while the other is still awaited.
  leasing.catch(noop);
  history?.catch(noop);

  let stored: StoredSession;
  try {
    stored = await session;
  } catch (error) {
    // No turn: stop a queued wait, and let go of a lock granted meanwhile.
    stopWaiting.abort();
    leasing.then((lease) => lease.release(), noop);
    throw error;
  }
  try {
    return { stored, lease: await leasing, history };
  } catch (error) {
    if (isLlmChatError(error) && error.code === 'LOCK_TIMEOUT') {
      throw new LlmChatError('TURN_IN_PROGRESS', 'A chat turn is already running for this user.', { cause: error });
    }
    throw error;
  }
}
