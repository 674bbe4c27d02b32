import { z } from 'zod';

/**
 * The conversation a request names when it names none: the only one a gateway client ever uses,
 * so `/chat` without `conversation_id` behaves exactly as before conversations existed.
 */
export const DEFAULT_CONVERSATION_ID = 'default';

/** 1–128 characters of `A-Z a-z 0-9 . _ : -`, as the wire contract (§6) says. */
const CONVERSATION_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Validates a `conversation_id` from a request body or query. Its 422 detail names the rule, and
 * the character set keeps ids safe inside storage keys, channel names and URLs without escaping.
 * @internal
 */
export const conversationIdSchema = z
  .string()
  .regex(CONVERSATION_ID_PATTERN, 'must be 1-128 characters of A-Z a-z 0-9 . _ : -');

/** Whether `value` is a well-formed conversation id. */
export function isConversationId(value: unknown): value is string {
  return typeof value === 'string' && CONVERSATION_ID_PATTERN.test(value);
}

/**
 * The conversation as the turn records name it: `undefined` for the default one (whose keys are
 * the user's own, as before conversations existed), else the id.
 * @internal
 */
export function namedConversation(conversationId: string | null | undefined): string | undefined {
  return conversationId === null || conversationId === undefined || conversationId === DEFAULT_CONVERSATION_ID
    ? undefined
    : conversationId;
}
