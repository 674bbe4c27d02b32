import { createHash } from 'node:crypto';
import { isLlmChatError, LlmChatError } from '../errors.js';
import { TurnLog, type TurnRef } from '../turns/turn-log.js';
import type { HandlerContext } from './handler-context.js';
import { readIdempotencyKey } from './turn-schemas.js';

/** What an `Idempotency-Key` decided for a `/chat` request. @internal */
export type SendClaim =
  /** No key: an ordinary send. */
  | { kind: 'none' }
  /** The key is new: run the turn under this id (and {@link abandonSend} if it never starts). */
  | { kind: 'claimed'; key: string; turnId: string }
  /** The key names a turn already sent with the same message: read that one instead. */
  | { kind: 'attach'; ref: TurnRef };

/**
 * Claims the request's `Idempotency-Key` (if any) for a new turn, in one storage step, before
 * the turn lock is even asked for: so a retry never meets a 409 from its own turn, from any
 * process, whether the first send is still starting, running or over.
 * @throws LlmChatError `IDEMPOTENCY_KEY_REUSED` (422) when the key was used for another message.
 * @internal
 */
export async function claimSend(
  context: HandlerContext,
  request: Request,
  userId: string,
  conversationId: string | undefined,
  message: string,
): Promise<SendClaim> {
  const key = readIdempotencyKey(request);
  if (key === undefined) return { kind: 'none' };
  const digest = createHash('sha256').update(message).digest('base64url');
  const turnId = TurnLog.newTurnId();
  const existing = await context.turns.log.claimIdempotencyKey(userId, conversationId, key, { turnId, digest });
  if (existing === null) return { kind: 'claimed', key, turnId };
  if (existing.digest !== digest) {
    throw new LlmChatError('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was already used for another message.');
  }
  return { kind: 'attach', ref: { userId, turnId: existing.turnId, ...(conversationId ? { conversationId } : {}) } };
}

/**
 * A claimed send that could not start its turn (no session, another turn running, …): the
 * reserved turn records that error as its only event, so a retry already attached to it ends
 * too, and the key is let go so a later retry can start afresh.
 * @internal
 */
export async function abandonSend(
  context: HandlerContext,
  claim: SendClaim,
  userId: string,
  conversationId: string | undefined,
  error: unknown,
): Promise<void> {
  if (claim.kind !== 'claimed') return;
  const known = isLlmChatError(error);
  const ref: TurnRef = { userId, turnId: claim.turnId, ...(conversationId ? { conversationId } : {}) };
  const data = {
    type: 'error',
    error: known ? error.message : 'An unexpected error occurred.',
    recoverable: known ? error.recoverable : false,
    code: known ? error.code : 'INTERNAL',
    turn_id: claim.turnId,
  };
  try {
    await context.turns.log.append(ref, [{ seq: 1, event: 'error', data }], context.turns.log.retentionMs);
    await context.turns.log.releaseIdempotencyKey(userId, conversationId, claim.key);
  } catch {
    // Storage is down: the key then ends by its TTL, and a retry attached to it by its timeout.
  }
}
