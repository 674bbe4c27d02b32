import type { MessageBus } from '../bus/message-bus.js';
import { unrefTimer } from '../internal/unref-timer.js';
import type { Logger } from '../types.js';

/** The bus channel on which a process announces that a user disconnected. @internal */
export const DISCONNECT_CHANNEL = 'llmchat:disconnect';

const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 10_000;

/** What a process closes for a user who disconnected elsewhere. @internal */
export interface EvictsUsers {
  evict(userId: string): void;
}

/** A running subscription of {@link followDisconnects}. @internal */
export interface DisconnectFollower {
  /** Unsubscribes and stops retrying. */
  stop(): Promise<void>;
}

/**
 * Closes this process's live MCP sessions of users who disconnected on another process (the
 * stored session is gone everywhere at once; without this, the MCP sessions other processes had
 * open stayed up until their idle timeout). Subscribing is retried with backoff until it works,
 * so a storage that is down at start-up is followed once it is back.
 * @internal
 */
export function followDisconnects(bus: MessageBus, cache: EvictsUsers, logger?: Logger): DisconnectFollower {
  let stopped = false;
  let unsubscribe: (() => Promise<void>) | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let delayMs = RETRY_FIRST_MS;

  const attempt = async () => {
    try {
      const off = await bus.subscribe(DISCONNECT_CHANNEL, (userId) => cache.evict(userId));
      if (stopped) return void (await off().catch(() => {}));
      unsubscribe = off;
      logger?.debug?.('following disconnects of other processes');
    } catch {
      if (stopped) return;
      logger?.warn?.('Cannot follow disconnects of other processes yet; retrying.', { retryInMs: delayMs });
      timer = setTimeout(() => void attempt(), delayMs);
      unrefTimer(timer);
      delayMs = Math.min(delayMs * 2, RETRY_MAX_MS);
    }
  };
  void attempt();

  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await unsubscribe?.().catch(() => {});
    },
  };
}

/**
 * Tells every process that `userId` disconnected. Best effort: the session is already deleted
 * from storage, so a lost message only leaves idle MCP sessions to their idle timeout.
 * @internal
 */
export async function announceDisconnect(bus: MessageBus, userId: string, logger?: Logger): Promise<void> {
  try {
    await bus.publish(DISCONNECT_CHANNEL, userId);
  } catch {
    logger?.warn?.('Could not tell other processes about a disconnect; their MCP sessions close when idle.');
  }
}
