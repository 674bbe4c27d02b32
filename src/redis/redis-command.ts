import { LlmChatError, wrapError } from '../errors.js';
import { withTimeout } from '../internal/with-timeout.js';

// Statuses in which ioredis would park a command in its offline queue (or reject it after a
// long wait): fail at once instead. `wait` is a lazyConnect client nobody has connected yet.
const DISCONNECTED = new Set(['wait', 'reconnecting', 'end', 'close']);

const UNAVAILABLE_MESSAGE = 'The storage backend is unavailable.';

// Clients whose last command failed. While such a client is not `ready`, ioredis cycles through
// `connecting` between reconnect attempts, where a command would again wait in the offline queue
// for the whole timeout; a client known to be down fails at once until it is ready again.
const knownDown = new WeakSet<object>();

/**
 * Runs one Redis operation with the backends' failure policy: fail fast when the client is
 * known to be disconnected, give up after `timeoutMs`, and turn every failure into an
 * `LlmChatError` of code `BACKEND_UNAVAILABLE` (the original kept as `cause`, its text never
 * shown, since ioredis messages can carry host names).
 * @internal
 */
export async function runRedisCommand<T>(
  client: { readonly status?: string },
  timeoutMs: number,
  operation: () => Promise<T>,
): Promise<T> {
  const { status } = client;
  if (status !== undefined && (DISCONNECTED.has(status) || (status !== 'ready' && knownDown.has(client)))) {
    throw new LlmChatError('BACKEND_UNAVAILABLE', UNAVAILABLE_MESSAGE, { details: { status } });
  }
  try {
    const result = await withTimeout(
      operation(),
      timeoutMs,
      () => new LlmChatError('BACKEND_UNAVAILABLE', 'The storage backend did not answer in time.'),
    );
    knownDown.delete(client);
    return result;
  } catch (error) {
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
