import { LlmChatError } from '../errors.js';
import { authenticate, type HandlerContext, resolveUserId } from './handler-context.js';
import { jsonResponse } from './json-response.js';

// CONTRACT §6: 1–128 characters of A-Z a-z 0-9 . _ : -
const CONVERSATION_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * `GET /usage/:user_id` (query `conversation_id`, optional): the user's token usage, turns and
 * tool calls over all time, today and this month (UTC), with cost when prices are configured.
 * Only the user's own usage (§2). 404 when the host did not turn accounting on.
 * @internal
 */
export async function usageRoute(context: HandlerContext, request: Request, pathUserId: string): Promise<Response> {
  const user = await authenticate(context, request);
  const userId = resolveUserId(user, pathUserId);
  const ledger = context.ops.ledger;
  if (!ledger) throw new LlmChatError('NOT_FOUND', 'Usage accounting is not enabled.');
  const conversationId = new URL(request.url, 'http://localhost').searchParams.get('conversation_id');
  if (conversationId !== null && !CONVERSATION_ID.test(conversationId)) {
    throw new LlmChatError('VALIDATION_FAILED', 'conversation_id must be 1-128 characters of A-Z a-z 0-9 . _ : -', {
      details: { field: 'conversation_id' },
    });
  }
  const report = await ledger.read(userId, conversationId === null ? {} : { conversationId });
  return jsonResponse(200, report);
}
