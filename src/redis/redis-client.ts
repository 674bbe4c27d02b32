import type { Redis } from 'ioredis';

/**
 * The part of an ioredis client (`Redis` or `Cluster`) the backends use. Only these commands
 * are called on the host's client: nothing is defined on, subscribed through, or quit on it.
 * `duplicate()` is called once, by the message bus, when no `subscriber` connection is given.
 */
export type RedisClientLike = Pick<
  Redis,
  'get' | 'set' | 'del' | 'pexpire' | 'lrange' | 'evalsha' | 'eval' | 'publish' | 'xrange' | 'xrevrange'
> & {
  /** ioredis connection state; read to fail fast while disconnected. */
  readonly status?: string;
  /** ioredis's `duplicate()`: a new connection with the same settings. */
  duplicate?(): unknown;
};

/**
 * A connection in subscriber mode, as the message bus uses it: an ioredis `Redis` or `Cluster`
 * the library may put in subscriber mode (no other command is sent on it).
 */
export interface RedisSubscriberLike {
  subscribe(...channels: string[]): Promise<unknown>;
  unsubscribe(...channels: string[]): Promise<unknown>;
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  off(event: 'message', listener: (channel: string, message: string) => void): unknown;
  disconnect(): void;
  /** ioredis connection state; read to fail fast while disconnected. */
  readonly status?: string;
}

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
