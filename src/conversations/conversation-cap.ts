import { LlmChatError } from '../errors.js';
import type { AdmitConversationOptions, ConversationBackend } from './conversation-backend.js';

/**
 * Checks a cap on conversations per user: a whole number of at least 1, or `Infinity` for none.
 * @throws LlmChatError `CONFIG_INVALID`.
 * @internal
 */
export function checkConversationCap(max: unknown): number {
  if (max === Number.POSITIVE_INFINITY) return max;
  if (typeof max !== 'number' || !Number.isSafeInteger(max) || max < 1) {
    throw new LlmChatError('CONFIG_INVALID', 'maxConversations must be a whole number of at least 1.');
  }
  return max;
}

/** The refusal of a first turn in one conversation too many. @internal */
export function conversationLimitError(): LlmChatError {
  return new LlmChatError('CONVERSATION_LIMIT', 'Too many conversations; delete one to start another.');
}

/**
 * {@link ConversationBackend.admits} for a backend without it (one written before the cap): the
 * conversation's entry, then at most `max + 1` entries of the list, counted. Runs only for a
 * first turn, so its cost stays off the turns of existing conversations.
 * @internal
 */
export async function admitsByListing(
  index: ConversationBackend,
  userId: string,
  conversationId: string,
  options: AdmitConversationOptions,
): Promise<boolean> {
  if ((await index.get(userId, conversationId)) !== null) return true;
  const { conversations } = await index.list(userId, { limit: options.max + 1 });
  const counted = conversations.filter((entry) => entry.conversationId !== options.uncounted);
  return counted.length < options.max;
}
