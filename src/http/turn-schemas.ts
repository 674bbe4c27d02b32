import { z } from 'zod';
import { conversationIdSchema, namedConversation } from '../conversations/conversation-id.js';
import { LlmChatError } from '../errors.js';

/** Body of `POST /stop`. @internal */
export const stopBodySchema = z.object({
  user_id: z.string().max(512).nullish(),
  conversation_id: conversationIdSchema.nullish(),
  turn_id: z.string().max(128).nullish(),
});

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,128}$/;

/**
 * The `Idempotency-Key` header of a request: `undefined` when absent.
 * @throws LlmChatError `VALIDATION_FAILED` when present but not 1–128 visible ASCII characters.
 * @internal
 */
export function readIdempotencyKey(request: Request): string | undefined {
  const value = request.headers.get('idempotency-key');
  if (value === null) return undefined;
  if (!IDEMPOTENCY_KEY.test(value)) {
    throw new LlmChatError('VALIDATION_FAILED', 'Idempotency-Key: must be 1-128 visible ASCII characters', {
      details: { field: 'Idempotency-Key' },
    });
  }
  return value;
}

/**
 * The `conversation_id` query parameter: `undefined` when absent, empty or the default one.
 * @throws LlmChatError `VALIDATION_FAILED` when it breaks the rule.
 * @internal
 */
export function readConversationQuery(url: URL): string | undefined {
  const value = url.searchParams.get('conversation_id');
  if (value === null || value === '') return undefined;
  if (!conversationIdSchema.safeParse(value).success) {
    throw new LlmChatError('VALIDATION_FAILED', 'conversation_id: must be 1-128 characters of A-Z a-z 0-9 . _ : -', {
      details: { field: 'conversation_id' },
    });
  }
  return namedConversation(value);
}
