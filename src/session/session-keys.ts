import { DEFAULT_CONVERSATION_ID } from '../conversations/conversation-id.js';

/**
 * The storage key layout, in one place. Every key of one user starts with the user's hash tag
 * `{u:<encoded id>}`, so on Redis Cluster all of them (session, history, marker, turn lock and
 * anything added later, such as a conversation's event log) land in one slot: multi-key scripts
 * stay legal, and one connection orders a user's lock and data commands. Backends prepend their
 * own prefix (`${keyPrefix}{u:alice}:history`); the lock backend adds `lock:` before that.
 *
 * To add a key kind, add a function here built on {@link userKey} or {@link conversationKey};
 * never build a user's key by hand elsewhere.
 */

/**
 * The hash tag shared by every key of `userId`. `encodeURIComponent` escapes braces, so no
 * user id can end the tag early or pick another user's slot.
 */
export function userHashTag(userId: string): string {
  return `{u:${encodeURIComponent(userId)}}`;
}

/** A key of `kind` belonging to `userId`, in the user's slot. `kind` is a fixed word of the library. */
export function userKey(userId: string, kind: string): string {
  return `${userHashTag(userId)}:${kind}`;
}

/**
 * A key of `kind` belonging to one conversation of `userId`, in the user's slot (so a user's
 * turn lock and a conversation's records can be touched by one script).
 */
export function conversationKey(userId: string, conversationId: string, kind: string): string {
  return userKey(userId, `c:${encodeURIComponent(conversationId)}:${kind}`);
}

/** The session configuration record. */
export function sessionKey(userId: string): string {
  return userKey(userId, 'session');
}

/** The chat history list: one entry per turn. */
export function historyKey(userId: string): string {
  return userKey(userId, 'history');
}

/** A marker that the user had a session, so an expired one can be told from none. */
export function seenKey(userId: string): string {
  return userKey(userId, 'seen');
}

/**
 * The history list of one conversation. The default conversation (no id, or `default`) keeps the
 * key the single history had before conversations existed, so stored histories carry over.
 */
export function conversationHistoryKey(userId: string, conversationId?: string): string {
  return conversationId === undefined || conversationId === DEFAULT_CONVERSATION_ID
    ? historyKey(userId)
    : conversationKey(userId, conversationId, 'history');
}

/** The lock that serializes one conversation's turns (the default one keeps the user's turn lock). */
export function conversationTurnLockKey(userId: string, conversationId?: string): string {
  return conversationId === undefined || conversationId === DEFAULT_CONVERSATION_ID
    ? turnLockKey(userId)
    : conversationKey(userId, conversationId, 'turn');
}

/** The user's conversations, newest first (a sorted set on Redis: id → time of the latest turn). */
export function conversationIndexKey(userId: string): string {
  return userKey(userId, 'conversations');
}

/** One entry per conversation of the user: title, times, turn count (a hash on Redis). */
export function conversationEntriesKey(userId: string): string {
  return userKey(userId, 'conversation-entries');
}

/** One of the user's conversation slots (a lock key), capping conversations that run at once. */
export function conversationSlotKey(userId: string, slot: number): string {
  return userKey(userId, `conversation-slot:${slot}`);
}

/** The lock that serializes the user's turns (a lock key: the lock backend namespaces it). */
export function turnLockKey(userId: string): string {
  return userKey(userId, 'turn');
}

/** The backend keys of one user's records (before the backend's own prefix). */
export interface SessionKeys {
  /** The session configuration record. */
  session: string;
  /** The chat history list: one entry per turn. */
  history: string;
  /** A marker that the user had a session, so an expired one can be told from none. */
  seen: string;
}

/** The keys {@link SessionStore} uses for `userId`, all in the user's slot. */
export function sessionKeys(userId: string): SessionKeys {
  return { session: sessionKey(userId), history: historyKey(userId), seen: seenKey(userId) };
}

/**
 * A tool list that sessions share, named by the SHA-256 of its JSON (hex). Not a user's key: every
 * session whose servers listed the same tools refers to it (see `SharedToolLists`), so it is only
 * ever read and written alone, never in a command with a user's keys.
 */
export function toolListKey(digest: string): string {
  return `tools:${digest}`;
}

/** A user's usage counters of one period (`total`, `d:<YYYY-MM-DD>`, `m:<YYYY-MM>`). */
export function usageKey(userId: string, period: string): string {
  return userKey(userId, `usage:${period}`);
}

/** The usage counters of one conversation. */
export function conversationUsageKey(userId: string, conversationId: string): string {
  return conversationKey(userId, conversationId, 'usage');
}

/** Stream slot `index` of a user (a lock key: the lock backend namespaces it). */
export function streamSlotKey(userId: string, index: number): string {
  return userKey(userId, `stream:${index}`);
}

/** A question a running turn waits on (a tool approval, an elicitation), until it is answered. */
export function askKey(userId: string, kind: string, id: string): string {
  return userKey(userId, `ask:${kind}:${encodeURIComponent(id)}`);
}

/** The answer to a question, kept briefly for a turn that missed the bus message. */
export function askAnswerKey(userId: string, kind: string, id: string): string {
  return userKey(userId, `answer:${kind}:${encodeURIComponent(id)}`);
}
