import type {
  ConversationBackend,
  ConversationPage,
  ConversationSummary,
  ListConversationsOptions,
  RecordTurnOptions,
} from './conversation-backend.js';
import { type ConversationEntry, nextEntry, toSummary } from './conversation-entry.js';

/**
 * An in-process {@link ConversationBackend}: one map of entries per user. Expired entries are
 * dropped whenever their user's list is touched, so memory follows the live conversations.
 */
export class MemoryConversationBackend implements ConversationBackend {
  readonly #users = new Map<string, Map<string, ConversationEntry>>();
  readonly #now: () => number;

  /** @param now The clock, for tests. @default Date.now */
  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  async recordTurn(userId: string, conversationId: string, options: RecordTurnOptions): Promise<void> {
    const entries = this.#entries(userId, true);
    entries.set(conversationId, nextEntry(entries.get(conversationId), options));
  }

  async get(userId: string, conversationId: string): Promise<ConversationSummary | null> {
    const entry = this.#entries(userId, false)?.get(conversationId);
    return entry === undefined ? null : toSummary(conversationId, entry);
  }

  async list(userId: string, options: ListConversationsOptions): Promise<ConversationPage> {
    const entries = this.#entries(userId, false);
    if (entries === undefined) return { conversations: [], hasMore: false };
    const before = options.before ?? Number.POSITIVE_INFINITY;
    const newestFirst = [...entries]
      .filter(([, entry]) => entry.u < before)
      .sort(([idA, a], [idB, b]) => b.u - a.u || (idA < idB ? 1 : -1));
    return {
      conversations: newestFirst.slice(0, options.limit).map(([id, entry]) => toSummary(id, entry)),
      hasMore: newestFirst.length > options.limit,
    };
  }

  async remove(userId: string, conversationId: string): Promise<boolean> {
    const entries = this.#entries(userId, false);
    const removed = entries?.delete(conversationId) ?? false;
    if (entries?.size === 0) this.#users.delete(userId);
    return removed;
  }

  /** The user's live entries, with expired ones dropped first. */
  #entries(userId: string, create: true): Map<string, ConversationEntry>;
  #entries(userId: string, create: false): Map<string, ConversationEntry> | undefined;
  #entries(userId: string, create: boolean): Map<string, ConversationEntry> | undefined {
    let entries = this.#users.get(userId);
    if (entries !== undefined) {
      const now = this.#now();
      for (const [id, entry] of entries) if (entry.e <= now) entries.delete(id);
    }
    if (entries === undefined && create) {
      entries = new Map();
      this.#users.set(userId, entries);
    }
    return entries;
  }
}
