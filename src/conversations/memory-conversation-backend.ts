import type {
  AdmitConversationOptions,
  ConversationBackend,
  ConversationPage,
  ConversationSummary,
  ListConversationsOptions,
  RecordTurnOptions,
} from './conversation-backend.js';
import { type ConversationEntry, nextEntry, toSummary } from './conversation-entry.js';
import { isAfterCursor, newestFirst } from './conversation-order.js';

/** One user's entries, and the earliest time one of them expires (a lower bound). */
interface UserEntries {
  entries: Map<string, ConversationEntry>;
  soonest: number;
}

/** Other users looked at by each recorded turn, so users who never come back are let go too. */
const USERS_SWEPT_PER_TURN = 2;

/**
 * An in-process {@link ConversationBackend}: one map of entries per user. Expired entries are
 * dropped whenever their user's list is touched after one of them expired (no pass over the
 * whole list on every turn), and every recorded turn also looks at two other users in turn, so
 * memory follows the live conversations even for users who never come back.
 */
export class MemoryConversationBackend implements ConversationBackend {
  readonly #users = new Map<string, UserEntries>();
  readonly #now: () => number;
  /** Where the sweep of other users goes on (a Map iterator sees later additions and deletions). */
  #cursor: Iterator<[string, UserEntries]> | undefined;

  /** @param now The clock, for tests. @default Date.now */
  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** How many users' lists are held, including expired ones not yet swept. */
  get size(): number {
    return this.#users.size;
  }

  async recordTurn(userId: string, conversationId: string, options: RecordTurnOptions): Promise<void> {
    const user = this.#user(userId, true);
    // Whole milliseconds, as on Redis: a page's cursor (`updated_at`) names them exactly.
    const at = Math.trunc(options.at);
    const entry = nextEntry(user.entries.get(conversationId), { title: options.title, at, ttlMs: options.ttlMs });
    user.entries.set(conversationId, entry);
    if (entry.e < user.soonest) user.soonest = entry.e;
    this.#sweepOthers();
  }

  async get(userId: string, conversationId: string): Promise<ConversationSummary | null> {
    const entry = this.#user(userId, false)?.entries.get(conversationId);
    return entry === undefined ? null : toSummary(conversationId, entry);
  }

  async list(userId: string, options: ListConversationsOptions): Promise<ConversationPage> {
    const entries = this.#user(userId, false)?.entries;
    if (entries === undefined) return { conversations: [], hasMore: false };
    const page = [...entries]
      .filter(([id, entry]) => isAfterCursor(entry.u, id, options))
      .sort(([idA, a], [idB, b]) => newestFirst(a.u, idA, b.u, idB));
    return {
      conversations: page.slice(0, options.limit).map(([id, entry]) => toSummary(id, entry)),
      hasMore: page.length > options.limit,
    };
  }

  async admits(userId: string, conversationId: string, options: AdmitConversationOptions): Promise<boolean> {
    // Only live entries are held: `#user` drops the expired ones first.
    const entries = this.#user(userId, false)?.entries;
    if (entries === undefined || entries.has(conversationId)) return true;
    const uncounted = options.uncounted !== undefined && entries.has(options.uncounted) ? 1 : 0;
    return entries.size - uncounted < options.max;
  }

  /** Never sees the session backend (`withKeys` is not honoured): the caller clears those itself. */
  async remove(userId: string, conversationId: string): Promise<boolean> {
    const entries = this.#user(userId, false)?.entries;
    const removed = entries?.delete(conversationId) ?? false;
    if (entries?.size === 0) this.#users.delete(userId);
    return removed;
  }

  /** The user's live entries, with expired ones dropped first; `undefined` for a user with none. */
  #user(userId: string, create: true): UserEntries;
  #user(userId: string, create: false): UserEntries | undefined;
  #user(userId: string, create: boolean): UserEntries | undefined {
    let user = this.#users.get(userId);
    if (user !== undefined && !this.#live(userId, user, this.#now())) user = undefined;
    if (user === undefined && create) {
      user = { entries: new Map(), soonest: Number.POSITIVE_INFINITY };
      this.#users.set(userId, user);
    }
    return user;
  }

  /** Sweeps `user` when one of its entries is due; drops it once it has none. Whether it is still held. */
  #live(userId: string, user: UserEntries, now: number): boolean {
    if (user.soonest > now) return true;
    sweep(user, now);
    if (user.entries.size > 0) return true;
    this.#users.delete(userId);
    return false;
  }

  #sweepOthers(): void {
    const now = this.#now();
    for (let looked = 0; looked < USERS_SWEPT_PER_TURN; looked++) {
      this.#cursor ??= this.#users.entries();
      const next = this.#cursor.next();
      if (next.done === true) {
        this.#cursor = undefined;
        return;
      }
      const [userId, user] = next.value;
      this.#live(userId, user, now);
    }
  }
}

/** Drops the expired entries and finds when the next one expires. */
function sweep(user: UserEntries, now: number): void {
  let soonest = Number.POSITIVE_INFINITY;
  for (const [id, entry] of user.entries) {
    if (entry.e <= now) user.entries.delete(id);
    else if (entry.e < soonest) soonest = entry.e;
  }
  user.soonest = soonest;
}
