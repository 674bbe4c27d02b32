import { z } from 'zod';
import { conversationIdSchema, DEFAULT_CONVERSATION_ID } from '../conversations/conversation-id.js';
import { parseQueryTime } from '../conversations/query-time.js';
import { parseBody } from '../schemas.js';
import { authenticate, type HandlerContext, resolveUserId } from './handler-context.js';
import { jsonResponse } from './json-response.js';

// `before` is a time: an ISO-8601 date-time (as `updated_at` and `at` are written) or
// milliseconds since the epoch, read strictly (see `parseQueryTime`), else 422.
const before = z
  .string()
  .max(64)
  .refine(
    (value) => parseQueryTime(value) !== undefined,
    'must be an ISO-8601 date-time (such as 2026-11-30T10:00:00.000Z) or milliseconds since the epoch',
  )
  .optional();
// `limit` is a plain decimal count: `z.coerce.number()` would also take `1e2`, `0x10`, ` 5` and `5.0`.
const limit = (fallback: number, max: number) =>
  z
    .string()
    .regex(/^[0-9]{1,6}$/, 'must be a whole number written in decimal digits')
    .transform(Number)
    .pipe(z.number().int().min(1).max(max))
    .default(fallback);

// `before_id` breaks a tie of `before`: the page after (updated_at, conversation_id) of the last one shown.
const conversationsQuery = z
  .object({ limit: limit(20, 100), before, before_id: conversationIdSchema.optional() })
  .refine((query) => query.before_id === undefined || query.before !== undefined, {
    message: 'needs before (the updated_at of the same conversation)',
    path: ['before_id'],
  });
const historyQuery = z.object({
  conversation_id: conversationIdSchema.default(DEFAULT_CONVERSATION_ID),
  limit: limit(50, 500),
  before,
});
const deleteQuery = z.object({ conversation_id: conversationIdSchema.default(DEFAULT_CONVERSATION_ID) });

/**
 * `GET /conversations/:user_id`: the user's conversations, newest first, a page at a time
 * (`limit`, `before` = the `updated_at` of the last one shown, `before_id` = its
 * `conversation_id`, so conversations updated in the same millisecond are neither skipped nor
 * repeated).
 * @internal
 */
export async function conversationsRoute(context: HandlerContext, request: Request, pathUserId: string) {
  const userId = resolveUserId(await authenticate(context, request), pathUserId);
  const query = parseBody(conversationsQuery, queryOf(request));
  const page = await context.conversations.list(userId, {
    limit: query.limit,
    ...(query.before === undefined ? {} : { before: toMillis(query.before) }),
    ...(query.before_id === undefined ? {} : { beforeId: query.before_id }),
  });
  const running = await Promise.all(
    page.conversations.map((entry) => context.isConversationRunning(userId, entry.conversationId)),
  );
  return jsonResponse(200, {
    conversations: page.conversations.map((entry, index) => ({
      conversation_id: entry.conversationId,
      title: entry.title,
      created_at: new Date(entry.createdAt).toISOString(),
      updated_at: new Date(entry.updatedAt).toISOString(),
      turns: entry.turns,
      running: running[index] === true,
    })),
    has_more: page.hasMore,
  });
}

/**
 * `GET /history/:user_id`: one conversation's saved turns, as a page redraws them: the newest
 * `limit` turns before `before` (the `at` of the oldest message shown), oldest first.
 * @internal
 */
export async function historyRoute(context: HandlerContext, request: Request, pathUserId: string) {
  const userId = resolveUserId(await authenticate(context, request), pathUserId);
  const query = parseBody(historyQuery, queryOf(request));
  const page = await context.conversations.page(userId, query.conversation_id, {
    limit: query.limit,
    ...(query.before === undefined ? {} : { before: new Date(toMillis(query.before)).toISOString() }),
  });
  return jsonResponse(200, { conversation_id: query.conversation_id, messages: page.messages, has_more: page.hasMore });
}

/** `DELETE /history/:user_id`: deletes one conversation (its history and its list entry). @internal */
export async function clearHistoryRoute(context: HandlerContext, request: Request, pathUserId: string) {
  const userId = resolveUserId(await authenticate(context, request), pathUserId);
  const query = parseBody(deleteQuery, queryOf(request));
  await context.conversations.delete(userId, query.conversation_id);
  return jsonResponse(200, { status: 'cleared', conversation_id: query.conversation_id });
}

/** The query string as a plain object (the last value wins for a repeated name). */
function queryOf(request: Request): Record<string, string> {
  return Object.fromEntries(new URL(request.url, 'http://localhost').searchParams);
}

/** A `before` the schema accepted, in milliseconds. */
function toMillis(value: string): number {
  return parseQueryTime(value) ?? Number.NaN;
}
