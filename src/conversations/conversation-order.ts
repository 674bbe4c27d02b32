import { LlmChatError } from '../errors.js';
import type { ListConversationsOptions } from './conversation-backend.js';
import { isConversationId } from './conversation-id.js';

/**
 * The list's one total order, newest first: `updatedAt` descending, then the id descending in
 * byte order (what a Redis sorted set does with equal scores). A comparator for `Array.sort`.
 * @internal
 */
export function newestFirst(updatedA: number, idA: string, updatedB: number, idB: string): number {
  if (updatedA !== updatedB) return updatedB - updatedA;
  return idA === idB ? 0 : idA < idB ? 1 : -1;
}

/**
 * Whether an entry comes after the page cursor (`before`, and `beforeId` to break a tie) in
 * {@link newestFirst} order. Ids are ASCII (see `conversationIdSchema`), so `<` is byte order.
 * @internal
 */
export function isAfterCursor(
  updatedAt: number,
  conversationId: string,
  cursor: Pick<ListConversationsOptions, 'before' | 'beforeId'>,
): boolean {
  if (cursor.before === undefined) return true;
  if (updatedAt !== cursor.before) return updatedAt < cursor.before;
  return cursor.beforeId !== undefined && conversationId < cursor.beforeId;
}

/**
 * The options of a list request, checked: a negative or fractional `limit` would read the whole
 * list (Redis takes `LIMIT 0 -4` as "no limit"), and a `beforeId` means nothing without `before`.
 * @throws LlmChatError `VALIDATION_FAILED` naming the option.
 * @internal
 */
export function checkListOptions<T extends ListConversationsOptions>(options: T): T {
  const { limit, before, beforeId } = options;
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new LlmChatError('VALIDATION_FAILED', 'limit: must be a whole number of at least 1');
  }
  if (before !== undefined && !Number.isFinite(before)) {
    throw new LlmChatError('VALIDATION_FAILED', 'before: must be a time in milliseconds since the epoch');
  }
  if (beforeId !== undefined && (before === undefined || !isConversationId(beforeId))) {
    throw new LlmChatError('VALIDATION_FAILED', 'before_id: must be a conversation id, given with before');
  }
  return options;
}
