import type { ChatHistory } from '../chat/chat-history.js';
import { isLlmChatError } from '../errors.js';
import { copyWith } from '../internal/copy-with.js';
import { conversationHistoryKey } from '../session/session-keys.js';
import { type SessionStore, sessionVersionGuard } from '../session/session-store.js';
import type { Logger, TranscriptMessage } from '../types.js';
import type { ConversationBackend, ConversationPage } from './conversation-backend.js';
import { admitsByListing, checkConversationCap, conversationLimitError } from './conversation-cap.js';
import { DEFAULT_CONVERSATION_ID } from './conversation-id.js';
import { checkListOptions } from './conversation-order.js';
import { titleFromMessage } from './conversation-title.js';
import { type HistoryPage, historyPage } from './history-view.js';
import { KeyedQueue } from './keyed-queue.js';

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
  /**
   * How many conversations one user may keep, the default one not counted: a first turn in one
   * more is refused by {@link Conversations.admit}. A whole number of at least 1.
   * @default Infinity (no cap)
   */
  maxConversations?: number;
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
  readonly #max: number;
  /** A conversation's saves and its removal, one at a time in this process (see `#remove`). */
  readonly #steps = new KeyedQueue();

  /** @throws LlmChatError `CONFIG_INVALID` when `maxConversations` is not a whole number of at least 1. */
  constructor(store: SessionStore, index: ConversationBackend, options: ConversationsOptions) {
    this.#max = checkConversationCap(options.maxConversations ?? Number.POSITIVE_INFINITY);
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
        // Once the history holds the turn, the turn is saved: a failed list entry is logged, never
        // thrown (the turn would be reported failed, and retried, though it was kept).
        if (this.#index.seesSessions === true) {
          // The index checks the session's version itself, like the append: both go out at once
          // (one round trip on Redis) and still both happen or neither does.
          const record =
            sessionVersion === undefined
              ? entry
              : copyWith(entry, { onlyIf: sessionVersionGuard(userId, sessionVersion) });
          const [saving, recording] = await Promise.allSettled([
            save(),
            this.#index.recordTurn(userId, conversationId, record),
          ]);
          if (saving.status === 'rejected') throw saving.reason;
          saved = saving.value;
          // (A record refused with its append is no news: the turn was not saved, and says so below.)
          if (recording.status === 'rejected' && saved) this.#entryFailed(recording.reason);
        } else {
          // History, then entry, with no removal of the conversation between them (see `#remove`).
          saved = await this.#steps.run(stepKey(userId, conversationId), async () => {
            const appended = await save();
            if (appended)
              await this.#index.recordTurn(userId, conversationId, entry).catch((e) => this.#entryFailed(e));
            return appended;
          });
        }
        if (!saved) this.#logger?.info?.('A turn was not saved: its session was replaced or closed while it ran.');
      },
    };
  }

  /**
   * A page of the user's conversations, newest first (`updatedAt`, then `conversationId`, both
   * descending). For the next page pass the last one's `updatedAt` as `before` and its
   * `conversationId` as `beforeId`: nothing is skipped or repeated, even among conversations
   * updated in the same millisecond. `before` alone skips every conversation updated at it.
   * @throws LlmChatError `VALIDATION_FAILED` for a `limit` that is not a whole number of at least
   * 1, a `before` that is not a finite number, or a `beforeId` without `before`.
   */
  async list(
    userId: string,
    options: { limit: number; before?: number; beforeId?: string },
  ): Promise<ConversationPage> {
    return this.#index.list(userId, checkListOptions(options));
  }

  /**
   * Refuses a turn that would start one conversation more than `maxConversations`, before
   * anything of it is stored; existing conversations (and the default one) always pass.
   * `history`, when given, is the conversation's history already requested for the turn: a
   * conversation with history exists, and costs no storage step. Otherwise the index answers
   * (one read, one round trip on Redis).
   * @throws LlmChatError `CONVERSATION_LIMIT` (409) when the user already has that many.
   */
  async admit(userId: string, conversationId: string, history?: Promise<TranscriptMessage[]>): Promise<void> {
    if (this.#max === Number.POSITIVE_INFINITY || conversationId === DEFAULT_CONVERSATION_ID) return;
    // An unreadable history is the turn's own failure, where it reads it: here it only says "ask the index".
    const known = await history?.catch(() => undefined);
    if (known !== undefined && known.length > 0) return;
    const options = { max: this.#max, ttlMs: this.#ttlMs, uncounted: DEFAULT_CONVERSATION_ID };
    const admitted = this.#index.admits
      ? await this.#index.admits(userId, conversationId, options)
      : await admitsByListing(this.#index, userId, conversationId, options);
    if (!admitted) throw conversationLimitError();
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
    await this.#remove(userId, DEFAULT_CONVERSATION_ID);
  }

  /** Deletes one conversation: its running turn is stopped, then its history and its list entry go. */
  async delete(userId: string, conversationId: string): Promise<void> {
    await this.#onDelete?.(userId, conversationId);
    await this.#remove(userId, conversationId);
  }

  /**
   * Removes a conversation's history and its entry as one step, so a turn saved meanwhile ends
   * up with both or neither (one after the other, a turn saved between them kept a history with
   * no entry, and its next turn started the entry over with a wrong title and count).
   */
  async #remove(userId: string, conversationId: string): Promise<void> {
    if (this.#index.seesSessions === true) {
      // One script on Redis deletes both, as a turn's append and record each go in one script.
      const withKeys = [conversationHistoryKey(userId, conversationId)];
      await this.#index.remove(userId, conversationId, { withKeys });
      return;
    }
    // An index that cannot see the history (the memory one, one process): the removal and the
    // saves of the conversation take turns in this process, so none lands in the middle.
    await this.#steps.run(stepKey(userId, conversationId), () =>
      Promise.all([this.#store.clearHistory(userId, conversationId), this.#index.remove(userId, conversationId)]),
    );
  }

  /** A turn's history was saved but its list entry was not: the turn stands, the host hears of it. */
  #entryFailed(error: unknown): void {
    this.#logger?.warn?.("A turn was saved, but its conversation's list entry was not updated.", {
      code: isLlmChatError(error) ? error.code : 'INTERNAL',
    });
  }
}

/** The key of one conversation's steps: ids have no space (see `conversationIdSchema`), user ids may. */
function stepKey(userId: string, conversationId: string): string {
  return `${conversationId} ${userId}`;
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
