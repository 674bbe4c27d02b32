import type {
  AdmitConversationOptions,
  ConversationBackend,
  ConversationPage,
  ConversationSummary,
  ListConversationsOptions,
  RecordTurnOptions,
  RemoveConversationOptions,
} from '../conversations/conversation-backend.js';
import { type ConversationEntry, parseConversationEntry, toSummary } from '../conversations/conversation-entry.js';
import { conversationEntriesKey, conversationIndexKey } from '../session/session-keys.js';
import {
  ADMIT_CONVERSATION,
  GET_CONVERSATION,
  LIST_CONVERSATIONS,
  RECORD_CONVERSATION_TURN,
  REMOVE_CONVERSATION,
} from './conversation-scripts.js';
import type { RedisBackendOptions, RedisClientLike } from './redis-client.js';
import { resolveRedisOptions, runRedisCommand, toRedisMs } from './redis-command.js';
import { runScript } from './redis-scripts.js';
import type { RedisSessionBackend } from './redis-session-backend.js';

/** Options of {@link RedisConversationBackend}. */
export interface RedisConversationBackendOptions extends RedisBackendOptions {
  /**
   * The session backend of the same storage (same client and key prefix): with it, a record
   * guarded by the session ({@link RecordTurnOptions.onlyIf}) is checked in the record's own
   * script, so a turn's history append and its record travel in one round trip.
   */
  sessions?: Pick<RedisSessionBackend, 'redisKey'>;
  /** The clock, for tests. @default Date.now */
  now?: () => number;
}

/**
 * A {@link ConversationBackend} on Redis: per user, one sorted set (conversation id → time of
 * the latest turn) and one hash (conversation id → entry), both under the user's hash tag. A
 * page is one script call; listing never scans the keyspace.
 */
export class RedisConversationBackend implements ConversationBackend {
  readonly #client: RedisClientLike;
  readonly #keyPrefix: string;
  readonly #timeoutMs: number;
  readonly #now: () => number;
  readonly #sessions: RedisConversationBackendOptions['sessions'];

  constructor(client: RedisClientLike, options: RedisConversationBackendOptions = {}) {
    const resolved = resolveRedisOptions(options);
    this.#client = client;
    this.#keyPrefix = resolved.keyPrefix;
    this.#timeoutMs = resolved.operationTimeoutMs;
    this.#now = options.now ?? Date.now;
    this.#sessions = options.sessions;
  }

  /** Whether `onlyIf` is honoured: only with the storage's session backend (see the options). */
  get seesSessions(): boolean {
    return this.#sessions !== undefined;
  }

  async recordTurn(userId: string, conversationId: string, options: RecordTurnOptions): Promise<void> {
    // One script reads the entry and writes the next: one command per turn. A turn of the same
    // conversation racing this one is serialized by the conversation's turn lock anyway.
    const sessions = this.#sessions;
    const guard = sessions && options.onlyIf;
    const keys = this.#keys(userId);
    if (guard) keys.push(sessions.redisKey(guard.key));
    const args = [conversationId, options.title, Math.trunc(options.at), this.#now(), toRedisMs(options.ttlMs)];
    await this.#run(() => runScript(this.#client, RECORD_CONVERSATION_TURN, keys, [...args, guard?.contains ?? '']));
  }

  async get(userId: string, conversationId: string): Promise<ConversationSummary | null> {
    const entry = await this.#entry(userId, conversationId);
    return entry === undefined ? null : toSummary(conversationId, entry);
  }

  async list(userId: string, options: ListConversationsOptions): Promise<ConversationPage> {
    const now = this.#now();
    const conversations: ConversationSummary[] = [];
    // The cursor is a score and an id: a batch that ends inside a run of equal scores goes on
    // after its last id, not after its score (which would skip the rest of the run).
    let before = options.before === undefined ? '+inf' : String(Math.trunc(options.before));
    let beforeId = options.before === undefined ? '' : (options.beforeId ?? '');
    // Expired or corrupt entries are skipped; read on until the page is full or the list ends.
    for (;;) {
      const batch = options.limit + 1 - conversations.length;
      const flat = (await this.#run(() =>
        runScript(this.#client, LIST_CONVERSATIONS, this.#keys(userId), [before, beforeId, batch]),
      )) as string[];
      for (let i = 0; i < flat.length; i += 3) {
        const entry = parseConversationEntry(flat[i + 2]);
        if (entry !== undefined && entry.e > now) conversations.push(toSummary(flat[i] as string, entry));
      }
      if (flat.length / 3 < batch || conversations.length > options.limit) break;
      before = flat[flat.length - 2] as string;
      beforeId = flat[flat.length - 3] as string;
    }
    return {
      conversations: conversations.slice(0, options.limit),
      hasMore: conversations.length > options.limit,
    };
  }

  async remove(userId: string, conversationId: string, options: RemoveConversationOptions = {}): Promise<boolean> {
    // The history goes in the same script as the entry: a turn saved meanwhile finds both or neither.
    const sessions = this.#sessions;
    const keys = this.#keys(userId);
    if (sessions) for (const key of options.withKeys ?? []) keys.push(sessions.redisKey(key));
    const removed = await this.#run(() => runScript(this.#client, REMOVE_CONVERSATION, keys, [conversationId]));
    return removed === 1;
  }

  async admits(userId: string, conversationId: string, options: AdmitConversationOptions): Promise<boolean> {
    const args = [conversationId, options.max, this.#now(), toRedisMs(options.ttlMs), options.uncounted ?? ''];
    const admitted = await this.#run(() => runScript(this.#client, ADMIT_CONVERSATION, this.#keys(userId), args));
    return admitted === 1;
  }

  async #entry(userId: string, conversationId: string): Promise<ConversationEntry | undefined> {
    const flat = (await this.#run(() =>
      runScript(this.#client, GET_CONVERSATION, this.#keys(userId), [conversationId]),
    )) as string | null;
    const entry = parseConversationEntry(flat);
    return entry !== undefined && entry.e > this.#now() ? entry : undefined;
  }

  #keys(userId: string): string[] {
    return [this.#keyPrefix + conversationIndexKey(userId), this.#keyPrefix + conversationEntriesKey(userId)];
  }

  #run<T>(operation: () => Promise<T>): Promise<T> {
    return runRedisCommand(this.#client, this.#timeoutMs, operation);
  }
}
