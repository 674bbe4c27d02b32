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

/** Options of {@link ConversationBackend.list}. */
export interface ListConversationsOptions {
  /** At most this many conversations. */
  limit: number;
  /** Only conversations updated strictly before this time (ms since the epoch): the next page. */
  before?: number;
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
  /** Removes one conversation's entry; resolves `true` when it existed. */
  remove(userId: string, conversationId: string): Promise<boolean>;
  /** Optional. Releases timers the backend itself created. */
  close?(): Promise<void>;
}
