import type { ChatHistory } from '../chat/chat-history.js';
import { copyWith } from '../internal/copy-with.js';
import { type SessionStore, sessionVersionGuard } from '../session/session-store.js';
import type { Logger, TranscriptMessage } from '../types.js';
import type { ConversationBackend, ConversationPage } from './conversation-backend.js';
import { DEFAULT_CONVERSATION_ID } from './conversation-id.js';
import { titleFromMessage } from './conversation-title.js';
import { type HistoryPage, historyPage } from './history-view.js';

/** Options of {@link Conversations}. */
export interface ConversationsOptions {
  /** How long a conversation lives without a turn (its history and its list entry). */
  historyTtlMs: number;
  /** The clock, for tests. @default Date.now */
  now?: () => number;
  /** Hears about turns that were not saved (their session was replaced or closed meanwhile). */
  logger?: Logger;
  /** Called first when a conversation is deleted (stop its running turn, drop its records). */
  onDelete?: (userId: string, conversationId: string) => Promise<void>;
}

/**
 * A user's conversations: each one's history (in the {@link SessionStore}) and its entry in the
 * user's list (in a {@link ConversationBackend}), kept in step. Usable without HTTP: a worker or
 * a CLI runs a turn in a named conversation with `service.chat(message, { history:
 * conversations.history(userId, 'support-42') })`.
 *
 * @example
 * const conversations = new Conversations(store, new MemoryConversationBackend(), { historyTtlMs: 3_600_000 });
 * for await (const event of service.chat('hi', { history: conversations.history('alice', 'trip') })) show(event);
 * const { conversations: list } = await conversations.list('alice', { limit: 20 });
 */
export class Conversations {
  readonly #store: SessionStore;
  readonly #index: ConversationBackend;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #onDelete: ConversationsOptions['onDelete'];
  readonly #logger: Logger | undefined;

  constructor(store: SessionStore, index: ConversationBackend, options: ConversationsOptions) {
    this.#store = store;
    this.#index = index;
    this.#ttlMs = options.historyTtlMs;
    this.#now = options.now ?? Date.now;
    this.#onDelete = options.onDelete;
    this.#logger = options.logger;
  }

  /**
   * The history of one conversation for a turn: `load` reads it, `append` saves the turn (with
   * the time it started and ended, for a page to show) and records it in the user's list.
   * `prefetched`, when given, is the history already requested for this turn. With
   * `sessionVersion`, the turn is saved only while the user's session still has that version: a
   * turn that outlived its session (a reconnect or a disconnect meanwhile) is dropped and logged.
   * `wasStopped`, when given, tells whether the turn was stopped by its user: its saved answer is
   * then marked `stopped` (a page shows "Stopped", not "Interrupted").
   */
  history(
    userId: string,
    conversationId: string = DEFAULT_CONVERSATION_ID,
    prefetched?: Promise<TranscriptMessage[]>,
    options: { sessionVersion?: string; wasStopped?: () => boolean } = {},
  ): ChatHistory {
    let early = prefetched;
    let startedAt = this.#now();
    return {
      load: () => {
        startedAt = this.#now();
        const history = early ?? this.#store.getHistory(userId, conversationId);
        early = undefined;
        return history;
      },
      append: async (turn) => {
        if (turn.length === 0) return;
        const endedAt = this.#now();
        const stamped = stampTurn(turn, startedAt, endedAt);
        const last = stamped[stamped.length - 1];
        if (last?.role === 'assistant' && last.interrupted === true && options.wasStopped?.() === true) {
          (last as TranscriptMessage & { stopped?: boolean }).stopped = true;
        }
        const { sessionVersion } = options;
        const save = () =>
          this.#store.appendTurn(userId, stamped, {
            conversationId,
            ...(sessionVersion === undefined ? {} : { sessionVersion }),
          });
        const first = turn.find((message) => message.role === 'user');
        const entry = { title: titleFromMessage(first?.content ?? ''), at: endedAt, ttlMs: this.#ttlMs };
        let saved: boolean;
        if (this.#index.seesSessions === true && sessionVersion !== undefined) {
          // The index checks the session's version itself, like the append: both go out at once
          // (one round trip on Redis) and still both happen or neither does.
          const onlyIf = sessionVersionGuard(userId, sessionVersion);
          [saved] = await Promise.all([
            save(),
            this.#index.recordTurn(userId, conversationId, copyWith(entry, { onlyIf })),
          ]);
        } else {
          saved = await save();
          if (saved) await this.#index.recordTurn(userId, conversationId, entry);
        }
        if (!saved) this.#logger?.info?.('A turn was not saved: its session was replaced or closed while it ran.');
      },
    };
  }

  /** A page of the user's conversations, newest first. */
  list(userId: string, options: { limit: number; before?: number }): Promise<ConversationPage> {
    return this.#index.list(userId, options);
  }

  /** A page of one conversation's history, ready for a page to redraw. */
  async page(
    userId: string,
    conversationId: string,
    options: { limit: number; before?: string },
  ): Promise<HistoryPage> {
    return historyPage(await this.#store.getTurns(userId, conversationId), options);
  }

  /**
   * Starts the default conversation over, as a new connection does (as in the gateway): its
   * history and its list entry go. A turn still running there is not stopped; the new session
   * version keeps it from saving.
   */
  async restartDefault(userId: string): Promise<void> {
    await this.#store.clearHistory(userId);
    await this.#index.remove(userId, DEFAULT_CONVERSATION_ID);
  }

  /** Deletes one conversation: its running turn is stopped, then its history and its list entry go. */
  async delete(userId: string, conversationId: string): Promise<void> {
    await this.#onDelete?.(userId, conversationId);
    await this.#store.clearHistory(userId, conversationId);
    await this.#index.remove(userId, conversationId);
  }
}

/** The turn with `at` on its user message (when it started) and on its last message (when it ended). */
function stampTurn(turn: TranscriptMessage[], startedAt: number, endedAt: number): TranscriptMessage[] {
  // Copies by `Object.assign`: a spread copy gains `at` through Node 20's slow path (see `copyWith`).
  const stamped = turn.map((message) => Object.assign({}, message));
  const first = stamped[0] as TranscriptMessage & { at?: string };
  const last = stamped[stamped.length - 1] as TranscriptMessage & { at?: string };
  first.at = new Date(startedAt).toISOString();
  if (last !== first) last.at = new Date(endedAt).toISOString();
  return stamped;
}
