import { MemoryMessageBus } from './bus/memory-message-bus.js';
import type { MessageBus } from './bus/message-bus.js';
import type { ConversationBackend } from './conversations/conversation-backend.js';
import { MemoryConversationBackend } from './conversations/memory-conversation-backend.js';
import { memoryRateWindow } from './limits/memory-rate-window.js';
import type { RateWindowBackend } from './limits/rate-window-backend.js';
import type { LockBackend } from './lock/lock-backend.js';
import { MemoryLockBackend } from './lock/memory-lock-backend.js';
import { MemorySessionBackend, type MemorySessionBackendOptions } from './session/memory-session-backend.js';
import type { SessionBackend } from './session/session-backend.js';
import { MemoryTurnBackend } from './turns/memory-turn-backend.js';
import type { TurnBackend } from './turns/turn-backend.js';
import { MemoryUsageBackend } from './usage/memory-usage-backend.js';
import type { UsageBackend } from './usage/usage-backend.js';

/**
 * Everything the chat handler stores: sessions and history, the per-user turn locks, and the
 * bus that carries signals between the processes sharing them. Build one with
 * {@link memoryStorage} (one process) or `redisStorage` from `mcp-llmchat/redis` (several
 * processes sharing users). A storage of your own can use `new MemoryMessageBus()` when it
 * serves one process.
 */
export interface ChatStorage {
  /** Session configurations and chat histories. */
  sessions: SessionBackend;
  /** Leases that serialize one user's turns. */
  locks: LockBackend;
  /**
   * The per-user lists of conversations. Optional for storages written before conversations
   * existed: the handler then keeps the lists in memory, for one process.
   */
  conversations?: ConversationBackend;
  /** Cross-process signals (a user disconnected, a turn was stopped, a turn recorded events). */
  bus: MessageBus;
  /** Usage counters (accounting and token budgets). Optional for storages written before them. */
  usage?: UsageBackend;
  /** Request windows of the `limits.requests` option. Optional like `usage`. */
  rateWindows?: RateWindowBackend;
  /**
   * The event logs of turns, so a reader can resume a turn on any process.
   * @default in-process only (readers must then reach the process that runs the turn)
   */
  turns?: TurnBackend;
  /**
   * Releases what the storage itself created. Memory: stops its sweep timer. Redis: the
   * subscriber connection it made for the bus, if any, and the background retries of lock
   * releases that failed (those leases then end by their TTL); the host's clients are never quit.
   */
  close(): Promise<void>;
}

/** Options of {@link memoryStorage}: its session backend's, and the bound of its usage counters. */
export interface MemoryStorageOptions extends MemorySessionBackendOptions {
  /**
   * The most usage hashes kept (see `MemoryUsageBackend`'s `maxEntries`): a user has a few, plus
   * one per conversation. When full, the counters written least recently are dropped, and a
   * token budget then counts from zero for what they held. @default 100000
   */
  usageMaxEntries?: number;
}

/**
 * In-process storage: the default of the chat handler, right for one process. Data is lost on
 * restart and not shared between processes; use `redisStorage` for that.
 *
 * @example
 * const storage = memoryStorage({ maxEntries: 5000 });
 * const handler = createChatHandler({ authenticate, models, storage });
 */
export function memoryStorage(options: MemoryStorageOptions = {}): ChatStorage {
  const sessions = new MemorySessionBackend(options);
  const usage = new MemoryUsageBackend({
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.usageMaxEntries === undefined ? {} : { maxEntries: options.usageMaxEntries }),
  });
  const turns = new MemoryTurnBackend();
  return {
    sessions,
    locks: new MemoryLockBackend(),
    conversations: new MemoryConversationBackend(),
    bus: new MemoryMessageBus(),
    usage,
    rateWindows: memoryRateWindow(),
    turns,
    close: async () => {
      await Promise.all([sessions.close(), usage.close(), turns.close()]);
    },
  };
}
