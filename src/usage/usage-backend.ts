/** Additions to the counters of one hash, with the hash's new time to live. */
export interface CounterAddition {
  key: string;
  /**
   * Field → amount added. Backends cut each to a whole number in `0..MAX_COUNTER` (`NaN` as 0)
   * and saturate the counter at `MAX_COUNTER`, so a bad figure never fails the write.
   */
  fields: Readonly<Record<string, number>>;
  /** The hash's new time to live, in milliseconds, set on every addition. */
  ttlMs: number;
}

/**
 * Where usage counters live: hashes of integer counters with a millisecond TTL. Backends add
 * atomically, so several processes counting for one user never lose an addition. Keys given in
 * one call share a hash tag (one user), so Redis Cluster can run them in one script. An addition
 * is all or nothing: a store never keeps part of one call's additions.
 *
 * Every method rejects with `BACKEND_UNAVAILABLE` when the store cannot be reached.
 */
export interface UsageBackend {
  /** Adds to the counters of each hash (creating it) and sets its TTL. */
  add(additions: readonly CounterAddition[]): Promise<void>;
  /** The counters of each key, in order; `{}` for a key that is absent or expired. */
  read(keys: readonly string[]): Promise<Record<string, number>[]>;
}
