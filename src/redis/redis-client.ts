import type { Redis } from 'ioredis';

/**
 * The part of an ioredis client (`Redis` or `Cluster`) the backends use. Only these commands
 * are called: nothing is defined on, subscribed through, or quit on the host's client.
 */
export type RedisClientLike = Pick<
  Redis,
  'get' | 'set' | 'del' | 'pexpire' | 'lrange' | 'evalsha' | 'eval' | 'xrange' | 'xrevrange'
> & {
  /** ioredis connection state; read to fail fast while disconnected. */
  readonly status?: string;
};

/** Options shared by the Redis backends. */
export interface RedisBackendOptions {
  /** Prepended to every key, so several apps can share one Redis. @default 'llmchat:' */
  keyPrefix?: string;
  /**
   * Longest wait for one operation before it fails with `BACKEND_UNAVAILABLE`, so a hung Redis,
   * or commands parked in ioredis's offline queue, never hang a request.
   * @default 2000
   */
  operationTimeoutMs?: number;
}
