/** A key whose time to live is refreshed alongside another write. */
export interface TtlRefresh {
  key: string;
  /** The new time to live, in milliseconds. */
  ttlMs: number;
}

/** Options of {@link SessionBackend.appendToList}. */
export interface AppendToListOptions {
  /** The list's new time to live, in milliseconds. */
  ttlMs: number;
  /** Keep only the newest `maxLength` entries. Unbounded when omitted. */
  maxLength?: number;
  /**
   * Other keys whose TTL is refreshed in the same atomic step (a key that does not exist stays
   * absent). On Redis these must share the list's hash tag, so the step is one cluster-safe script.
   */
  touch?: readonly TtlRefresh[];
  /**
   * Append only while the value at `key` exists and contains `contains` (checked in the same
   * atomic step; on Redis `key` must share the list's hash tag). The store uses it so a turn
   * never writes into a session that was replaced or cleared after the turn started.
   */
  onlyIf?: { key: string; contains: string };
}

/** A value to store at `key` for `ttlMs` milliseconds (see {@link SessionBackend.takeIfEqual}). */
export interface StoredValue {
  key: string;
  value: string;
  ttlMs: number;
}

/**
 * Where {@link SessionStore} keeps its records: opaque string values and lists of strings, each
 * with a millisecond TTL. The store owns key names, JSON and validation, so every backend
 * serializes identically and a corrupt record becomes a typed error instead of a crash.
 *
 * Required: `get`, `set`, `delete`, `getList`, `appendToList`. Optional: `touch` (the store
 * falls back to `get` + `set`, which is not atomic), `getWithList`, `take`, `takeIfEqual` and
 * `close`.
 *
 * Every method returns a promise, rejects with an `LlmChatError` of code `BACKEND_UNAVAILABLE`
 * when the store cannot be reached (other rejections are wrapped by the store), and never hands
 * out a live reference to stored data. Keys passed in one call share a hash tag.
 */
export interface SessionBackend {
  /** The value at `key`, or `null` when absent or expired. */
  get(key: string): Promise<string | null>;
  /** Stores `value` at `key` for `ttlMs` milliseconds, replacing any value and TTL. */
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** Deletes the keys (values or lists); resolves to how many existed. */
  delete(keys: readonly string[]): Promise<number>;
  /** The whole list at `key`, oldest first; `[]` when absent or expired. */
  getList(key: string): Promise<string[]>;
  /**
   * Atomically appends `values` to the list at `key` (creating it), trims it to the newest
   * `maxLength` entries, sets its TTL and refreshes the TTLs of `touch`, so concurrent appends
   * from several processes never lose an entry. On Redis this is one round trip. Resolves
   * `false`, writing nothing, when `onlyIf` does not hold; `true` (or, from older backends that
   * know no `onlyIf`, `undefined`) when appended.
   */
  appendToList(key: string, values: readonly string[], options: AppendToListOptions): Promise<boolean | undefined>;
  /**
   * Optional. Reads and deletes the value at `key` in one atomic step (`null` when absent), so
   * of two processes taking the same key only one gets it. Callers fall back to `get` + `delete`,
   * which is not atomic, when a backend lacks it.
   */
  take?(key: string): Promise<string | null>;
  /**
   * Optional. Deletes the value at `key` only when it is exactly `expected` and then sets
   * `replacement` (when given; its key shares `key`'s hash tag), all in one atomic step;
   * resolves whether it did. Of two processes answering the same question only one takes it, a
   * value replaced in between is never touched, and the answer is stored with the take, so a
   * caller that lost the reply (a timeout) has not lost the answer. Callers fall back to
   * {@link take} (and putting back what was not theirs) when a backend lacks it.
   */
  takeIfEqual?(key: string, expected: string, replacement?: StoredValue): Promise<boolean>;
  /**
   * Optional. The value at `key` and the whole list at `listKey`, read in one step (one command
   * on Redis): a turn reads its session and its history together. Callers fall back to `get` and
   * `getList` when a backend lacks it.
   */
  getWithList?(key: string, listKey: string): Promise<[string | null, string[]]>;
  /** Optional. Sets a new TTL on an existing key; resolves `false` when the key is absent. */
  touch?(key: string, ttlMs: number): Promise<boolean>;
  /** Optional. Releases timers or connections the backend itself created. */
  close?(): Promise<void>;
}
