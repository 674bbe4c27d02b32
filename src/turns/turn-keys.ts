/**
 * Storage keys of recorded turns. Each starts with the user's hash tag (`{u:<encoded id>}`, the
 * layout of every key of a user), so on Redis Cluster a user's turns share one slot with the
 * rest of the user's keys, and no key of one user can name another user's records.
 */

/** The conversation used when a request names none: the only one a gateway client knows. */
export const DEFAULT_CONVERSATION = '';

function userTag(userId: string): string {
  return `{u:${encodeURIComponent(userId)}}`;
}

function conversationPart(conversationId: string | undefined): string {
  return conversationId ? `c:${encodeURIComponent(conversationId)}:` : '';
}

/** The event log of one turn. @internal */
export function turnEventsKey(userId: string, turnId: string): string {
  return `${userTag(userId)}:turn-events:${turnId}`;
}

/** Which turn a conversation ran last, and which process runs it. @internal */
export function latestTurnKey(userId: string, conversationId?: string): string {
  return `${userTag(userId)}:${conversationPart(conversationId)}turn-latest`;
}

/** The turn an `Idempotency-Key` of a conversation started. @internal */
export function idempotencyKey(userId: string, conversationId: string | undefined, key: string): string {
  return `${userTag(userId)}:${conversationPart(conversationId)}turn-idem:${encodeURIComponent(key)}`;
}

/** Bus channel on which the events of one turn are announced to readers on other processes. @internal */
export function turnEventsChannel(userId: string, turnId: string): string {
  return `${userTag(userId)}:turn-events:${turnId}`;
}

/** Bus channel on which one process hears stop requests for the turns it runs. @internal */
export function processControlChannel(processId: string): string {
  return `turn-control:${processId}`;
}
