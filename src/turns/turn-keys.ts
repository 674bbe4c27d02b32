/**
 * Storage keys and bus channels of recorded turns, built on the one key layout of
 * `session-keys.ts`: each starts with the user's hash tag, so on Redis Cluster a user's turns
 * share one slot with the rest of the user's keys, and no key of one user names another user's.
 */
import { conversationKey, userKey } from '../session/session-keys.js';

/** A key of the conversation (the user's default one when absent). */
function inConversation(userId: string, conversationId: string | undefined, kind: string): string {
  return conversationId ? conversationKey(userId, conversationId, kind) : userKey(userId, kind);
}

/** The event log of one turn (turn ids are random, so no conversation is needed). @internal */
export function turnEventsKey(userId: string, turnId: string): string {
  return userKey(userId, `turn-events:${turnId}`);
}

/**
 * The fence of one turn: the epoch of the process allowed to write its events (1 for the process
 * that started it, one more for each takeover). Same hash tag as the turn's events. @internal
 */
export function turnFenceKey(userId: string, turnId: string): string {
  return userKey(userId, `turn-fence:${turnId}`);
}

/** The mark of a stop asked for a turn whose process could not be reached (it may be dead). @internal */
export function turnStopKey(userId: string, turnId: string): string {
  return userKey(userId, `turn-stop:${turnId}`);
}

/** Which turn a conversation ran last, and which process runs it. @internal */
export function latestTurnKey(userId: string, conversationId?: string): string {
  return inConversation(userId, conversationId, 'turn-latest');
}

/** The turn an `Idempotency-Key` of a conversation started. @internal */
export function idempotencyKey(userId: string, conversationId: string | undefined, key: string): string {
  return inConversation(userId, conversationId, `turn-idem:${encodeURIComponent(key)}`);
}

/** Bus channel on which the events of one turn are announced to readers on other processes. @internal */
export function turnEventsChannel(userId: string, turnId: string): string {
  return userKey(userId, `turn-events:${turnId}`);
}

/** Bus channel on which one process hears stop requests for the turns it runs. @internal */
export function processControlChannel(processId: string): string {
  return `turn-control:${processId}`;
}
