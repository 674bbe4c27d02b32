/** What the storage knows about one conversation of a user. */
export interface ConversationSummary {
  conversationId: string;
  /** Derived from the first message of the conversation. */
  title: string;
  /** Milliseconds since the epoch. */
  createdAt: number;
  /** Milliseconds since the epoch of the latest recorded turn. */
  updatedAt: number;
  /** How many turns were recorded. */
  turns: number;
}

/** Options of {@link ConversationBackend.recordTurn}. */
export interface RecordTurnOptions {
  /** The title to keep when the conversation is new; an existing title is never replaced. */
  title: string;
  /** When the turn happened, in milliseconds since the epoch. */
  at: number;
  /** The conversation's idle lifetime, refreshed by this turn. */
  ttlMs: number;
  /**
   * Record only while the session backend's value at `key` contains `contains`, checked in the
   * same step as the record. Passed only to a backend whose {@link ConversationBackend.seesSessions}
   * is `true`; the history append checks the same condition, so both happen or neither does.
   */
  onlyIf?: { key: string; contains: string };
}

/**
 * Options of {@link ConversationBackend.list}. The list is in one total order, newest first:
 * `updatedAt` descending, then `conversationId` descending (byte order), so a page that ends with
 * (`updatedAt`, `conversationId`) is followed by exactly the entries after it, none skipped or
 * repeated even when several were updated in the same millisecond.
 */
export interface ListConversationsOptions {
  /** At most this many conversations. */
  limit: number;
  /** Only conversations updated strictly before this time (ms since the epoch): the next page. */
  before?: number;
  /**
   * With `before`: also the conversations updated exactly at `before` whose id sorts before this
   * one. Pass the last entry's `updatedAt` and `conversationId` to get the page after it.
   */
  beforeId?: string;
}

/** Options of {@link ConversationBackend.remove}. */
export interface RemoveConversationOptions {
  /**
   * Session-backend keys (the conversation's history) deleted in the same atomic step as the
   * entry, so a turn saved meanwhile finds both or neither. Passed only to a backend whose
   * {@link ConversationBackend.seesSessions} is `true`.
   */
  withKeys?: readonly string[];
}

/** Options of {@link ConversationBackend.admits}. */
export interface AdmitConversationOptions {
  /** How many conversations the user may keep (not counting `uncounted`). */
  max: number;
  /** The conversations' idle lifetime: older entries are expired and not counted. */
  ttlMs: number;
  /** A conversation that is never counted (the default one). */
  uncounted?: string;
}

/** A page of a user's conversations, newest first. */
export interface ConversationPage {
  conversations: ConversationSummary[];
  /** Whether older conversations exist past this page. */
  hasMore: boolean;
}

/**
 * The per-user index of conversations: one entry per conversation with its title, times and turn
 * count, listed newest first without scanning the keyspace (a sorted set per user on Redis).
 * Each entry expires on its own after `ttlMs` without a turn, like the conversation's history.
 *
 * Every method rejects with an `LlmChatError` of code `BACKEND_UNAVAILABLE` when the store cannot
 * be reached; a corrupt entry is skipped, never thrown, so one bad record cannot hide the list.
 */
export interface ConversationBackend {
  /**
   * Records one turn atomically: creates the entry (with `title` and `createdAt = at`) when it is
   * new, else bumps `updatedAt` and `turns`; refreshes its TTL.
   */
  recordTurn(userId: string, conversationId: string, options: RecordTurnOptions): Promise<void>;
  /**
   * Optional. `true` when `recordTurn` honours `onlyIf` against the session backend of the same
   * storage. The turn's history append and its record then go out together (one round trip on
   * Redis) instead of one after the other.
   */
  readonly seesSessions?: boolean;
  /** One conversation's entry, or `null` when there is none (or it expired). */
  get(userId: string, conversationId: string): Promise<ConversationSummary | null>;
  /** A page of the user's conversations, newest first. */
  list(userId: string, options: ListConversationsOptions): Promise<ConversationPage>;
  /**
   * Removes one conversation's entry; resolves `true` when it existed. With `withKeys` (only on a
   * backend that {@link seesSessions}), those session keys go in the same step.
   */
  remove(userId: string, conversationId: string, options?: RemoveConversationOptions): Promise<boolean>;
  /**
   * Optional. Whether `conversationId` may take a turn under a cap of `max` conversations: `true`
   * when it has a live entry, or when the user has fewer than `max` other live ones. Reads only
   * (one round trip on Redis). Without it, `Conversations` counts with {@link get} and {@link list}.
   */
  admits?(userId: string, conversationId: string, options: AdmitConversationOptions): Promise<boolean>;
  /** Optional. Releases timers the backend itself created. */
  close?(): Promise<void>;
}
