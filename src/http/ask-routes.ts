import { z } from 'zod';
import type { ApprovalAnswer } from '../approval/approval-gate.js';
import { askNotFound, type PendingAsk } from '../asks/ask-broker.js';
import { conversationIdSchema, DEFAULT_CONVERSATION_ID } from '../conversations/conversation-id.js';
import {
  type ElicitationSchema,
  parseElicitationSchema,
  validateElicitationContent,
} from '../elicitation/elicitation-schema.js';
import type { ElicitationResult } from '../mcp/elicitation-router.js';
import { parseBody } from '../schemas.js';
import { authenticate, type HandlerContext, resolveUserId } from './handler-context.js';
import { jsonResponse } from './json-response.js';
import { readJsonBody } from './read-json-body.js';

const MAX_ID_CHARS = 256;

const approveBodySchema = z.object({
  user_id: z.string().max(512).nullish(),
  conversation_id: conversationIdSchema.nullish(),
  call_id: z.string().min(1).max(MAX_ID_CHARS),
  decision: z.enum(['approve', 'deny']),
  reason: z.string().max(2_000).nullish(),
  /** `conversation`: approve this tool for the rest of the conversation. */
  scope: z.enum(['once', 'conversation']).nullish(),
});

const elicitationBodySchema = z.object({
  user_id: z.string().max(512).nullish(),
  id: z.string().min(1).max(MAX_ID_CHARS),
  action: z.enum(['accept', 'decline', 'cancel']),
  content: z.record(z.string(), z.unknown()).nullish(),
});

/**
 * `POST /approve`: the user's decision on a `tool_approval`, from any process. Unknown, expired,
 * already used, or another user's or conversation's call: 404 `APPROVAL_NOT_FOUND`.
 * @internal
 */
export async function approveRoute(context: HandlerContext, request: Request): Promise<Response> {
  const user = await authenticate(context, request);
  const body = parseBody(approveBodySchema, await readJsonBody(request, context.settings.maxBodyBytes));
  const userId = resolveUserId(user, body.user_id);
  const answer: ApprovalAnswer = {
    decision: body.decision,
    ...(body.reason ? { reason: body.reason } : {}),
    ...(body.scope ? { scope: body.scope } : {}),
  };
  const conversationId = body.conversation_id ?? DEFAULT_CONVERSATION_ID;
  const taken = await context.asks.answer(userId, 'approval', body.call_id, conversationId, () => answer);
  if (taken === null) throw askNotFound('approval');
  return jsonResponse(200, { status: body.decision === 'approve' ? 'approved' : 'denied', call_id: body.call_id });
}

/**
 * `POST /elicitation`: the user's answer to an `elicitation`, from any process. Accepted content
 * is checked against the requested form (422 naming the field; the request stays open for a
 * corrected answer) and the form's defaults fill what was left out.
 * @internal
 */
export async function elicitationRoute(context: HandlerContext, request: Request): Promise<Response> {
  const user = await authenticate(context, request);
  const body = parseBody(elicitationBodySchema, await readJsonBody(request, context.settings.maxBodyBytes));
  const userId = resolveUserId(user, body.user_id);
  const taken = await context.asks.answer(userId, 'elicitation', body.id, undefined, (pending): ElicitationResult => {
    if (body.action !== 'accept') return { action: body.action };
    const schema = formOf(pending);
    // A URL-mode request has no form: its accept carries no content (MCP 2025-11-25).
    if (!schema) return { action: 'accept' };
    return { action: 'accept', content: validateElicitationContent(schema, body.content ?? undefined) };
  });
  if (taken === null) throw askNotFound('elicitation');
  return jsonResponse(200, { status: taken.answer.action, id: body.id });
}

/**
 * The form a pending request asked for, checked again: the record comes from storage, where
 * junk of any shape may sit. A request without one is URL-mode. A record whose form is no valid
 * form can never be answered, so it is answered as absent (404), not with a 500.
 */
function formOf(pending: PendingAsk): ElicitationSchema | undefined {
  const schema = pending.details?.schema;
  if (schema === undefined || schema === null) return undefined;
  try {
    return parseElicitationSchema(schema);
  } catch {
    throw askNotFound('elicitation');
  }
}
