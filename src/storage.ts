import { MemoryMessageBus } from './bus/memory-message-bus.js';
import type { MessageBus } from './bus/message-bus.js';
import type { LockBackend } from './lock/lock-backend.js';
import { MemoryLockBackend } from './lock/memory-lock-backend.js';
import { MemorySessionBackend, type MemorySessionBackendOptions } from './session/memory-session-backend.js';
import type { SessionBackend } from './session/session-backend.js';
import { MemoryTurnBackend } from './turns/memory-turn-backend.js';
import type { TurnBackend } from './turns/turn-backend.js';

/**
 * Everything the chat handler stores: sessions and history, and the per-user turn locks. Build
 * one with {@link memoryStorage} (one process) or `redisStorage` from `mcp-llmchat/redis`
 * (several processes sharing users).
 */
export interface Storage {
  /** Session configurations and chat histories. */
  sessions: SessionBackend;
  /** Leases that serialize one user's turns. */
  locks: LockBackend;
  /** Cross-process signals (a turn was stopped, a turn recorded events). @default in-process only */
  bus?: MessageBus;
  /**
   * The event logs of turns, so a reader can resume a turn on any process.
   * @default in-process only (readers must then reach the process that runs the turn)
   */
  turns?: TurnBackend;
  /**
   * Releases what the storage itself created. Memory: stops its sweep timer. Redis: nothing
   * network-wise, since the host's client is never quit by the library.
   */
  close(): Promise<void>;
}

/** Options of {@link memoryStorage}. */
export type MemoryStorageOptions = MemorySessionBackendOptions;

/**
 * In-process storage: the default of the chat handler, right for one process. Data is lost on
 * restart and not shared between processes; use `redisStorage` for that.
 *
 * @example
 * const storage = memoryStorage({ maxEntries: 5000 });
 * const handler = createChatHandler({ authenticate, models, storage });
 */
export function memoryStorage(options: MemoryStorageOptions = {}): Storage {
  const sessions = new MemorySessionBackend(options);
  const turns = new MemoryTurnBackend();
  return {
    sessions,
    locks: new MemoryLockBackend(),
    bus: new MemoryMessageBus(),
    turns,
    close: async () => {
      await Promise.all([sessions.close(), turns.close()]);
    },
  };
}
