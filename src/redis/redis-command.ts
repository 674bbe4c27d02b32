import { LlmChatError, wrapError } from '../errors.js';
import { withTimeout } from '../internal/with-timeout.js';
import { stallBreaker } from './stall-breaker.js';

// Statuses in which ioredis would park a command in its offline queue (or reject it after a
// long wait): fail at once instead. `wait` is a lazyConnect client nobody has connected yet.
const DISCONNECTED = new Set(['wait', 'reconnecting', 'end', 'close']);

const UNAVAILABLE_MESSAGE = 'The storage backend is unavailable.';

// Clients whose last command failed. While such a client is not `ready`, ioredis cycles through
// `connecting` between reconnect attempts, where a command would again wait in the offline queue
// for the whole timeout; a client known to be down fails at once until it is ready again.
const knownDown = new WeakSet<object>();

/** Options of {@link runRedisCommand}. @internal */
export interface RedisCommandOptions<T> {
  /**
   * Sent even while the client is stalled (see `stallBreaker`): a command that repairs what a
   * timed-out one did once Redis ran it late. On the same connection it queues behind the
   * stalled commands, so it runs after them.
   */
  duringStall?: boolean;
  /**
   * Called when the command times out, with the command's own promise: Redis may still run it,
   * and that promise settles with what it really did.
   */
  onTimeout?: (sent: Promise<T>) => void;
}

/**
 * Runs one Redis operation with the backends' failure policy: fail fast when the client is
 * known to be disconnected or stalled (a command of it timed out and is still unanswered, see
 * `stallBreaker`), give up after `timeoutMs`, and turn every failure into an `LlmChatError` of
 * code `BACKEND_UNAVAILABLE` (the original kept as `cause`, its text never shown, since ioredis
 * messages can carry host names).
 * @internal
 */
export async function runRedisCommand<T>(
  client: { readonly status?: string },
  timeoutMs: number,
  operation: () => Promise<T>,
  options?: RedisCommandOptions<T>,
): Promise<T> {
  const { status } = client;
  if (status !== undefined && (DISCONNECTED.has(status) || (status !== 'ready' && knownDown.has(client)))) {
    throw new LlmChatError('BACKEND_UNAVAILABLE', UNAVAILABLE_MESSAGE, { details: { status } });
  }
  const stall = stallBreaker.of(client);
  if (stall !== undefined && options?.duringStall !== true && !stallBreaker.letsProbeThrough(stall)) {
    throw new LlmChatError('BACKEND_UNAVAILABLE', UNAVAILABLE_MESSAGE);
  }
  let sent: Promise<T> | undefined;
  let timedOut = false;
  try {
    sent = operation();
    const command = sent;
    const result = await withTimeout(command, timeoutMs, () => {
      timedOut = true;
      stallBreaker.timedOut(client, command, timeoutMs);
      options?.onTimeout?.(command);
      return new LlmChatError('BACKEND_UNAVAILABLE', 'The storage backend did not answer in time.');
    });
    knownDown.delete(client);
    if (stall !== undefined) stallBreaker.settled(client, stall);
    return result;
  } catch (error) {
    // Settled in time, if with an error: Redis answers again, or the connection dropped.
    if (stall !== undefined && sent !== undefined && !timedOut) stallBreaker.settled(client, stall);
    const wrapped = wrapError(error, 'BACKEND_UNAVAILABLE', UNAVAILABLE_MESSAGE);
    if (wrapped.code === 'BACKEND_UNAVAILABLE') knownDown.add(client);
    throw wrapped;
  }
}

/** Resolves the backend options to their defaults, validating them. @internal */
export function resolveRedisOptions(options: { keyPrefix?: string; operationTimeoutMs?: number }): {
  keyPrefix: string;
  operationTimeoutMs: number;
} {
  const { keyPrefix = 'llmchat:', operationTimeoutMs = 2000 } = options;
  if (typeof keyPrefix !== 'string') throw new LlmChatError('CONFIG_INVALID', 'keyPrefix must be a string.');
  if (!Number.isFinite(operationTimeoutMs) || operationTimeoutMs <= 0) {
    throw new LlmChatError('CONFIG_INVALID', 'operationTimeoutMs must be a positive number of milliseconds.');
  }
  return { keyPrefix, operationTimeoutMs };
}

/** Redis wants whole, positive milliseconds. @internal */
export function toRedisMs(ms: number): number {
  return Math.max(1, Math.ceil(ms));
}
