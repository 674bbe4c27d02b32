import { LlmChatError } from '../errors.js';
import type { LockLease, LockManager } from '../lock/lock-manager.js';
import { conversationSlotKey } from '../session/session-keys.js';

/**
 * Caps how many of one user's conversations run a turn at once, across every process sharing
 * the storage. Slot `i` of a user is the lock `{u:<user>}:conversation-slot:<i>`, held with a
 * renewed lease for the length of a turn: at most `max` can be held at any moment, and a process
 * that dies frees its slots when their leases end. (A shared counter would drift when a process
 * dies between its increment and its decrement; a lease cannot.)
 */
export class ConversationSlots {
  readonly #locks: LockManager;
  readonly #max: number;
  readonly #ttlMs: number;

  /**
   * @param max the cap; `Infinity` takes no slot at all.
   * @param ttlMs the lease of a slot (renewed while the turn runs), like the turn lock's.
   * @throws LlmChatError `CONFIG_INVALID` when `max` is not a whole number of at least 1 (or `Infinity`).
   */
  constructor(locks: LockManager, max: number, ttlMs: number) {
    if (max !== Number.POSITIVE_INFINITY && (!Number.isInteger(max) || max < 1)) {
      throw new LlmChatError('CONFIG_INVALID', 'maxConcurrentConversations must be a whole number of at least 1.');
    }
    this.#locks = locks;
    this.#max = max;
    this.#ttlMs = ttlMs;
  }

  /** Whether a cap is set at all. */
  get limited(): boolean {
    return Number.isFinite(this.#max);
  }

  /**
   * Takes a free slot of `userId`'s; resolves `null` when no cap is set (nothing to release).
   * @throws LlmChatError `TURN_IN_PROGRESS` when all of them are held, `BACKEND_UNAVAILABLE`
   * when the storage fails.
   */
  async take(userId: string): Promise<LockLease | null> {
    if (!this.limited) return null;
    // Starting from a random slot spreads concurrent takers over the slots.
    const start = Math.floor(Math.random() * this.#max);
    for (let i = 0; i < this.#max; i++) {
      const key = conversationSlotKey(userId, (start + i) % this.#max);
      const lease = await this.#locks.hold(key, { ttlMs: this.#ttlMs, waitMs: 0 }).catch((error: unknown) => {
        if (error instanceof LlmChatError && error.code === 'LOCK_TIMEOUT') return null;
        throw error;
      });
      if (lease) return lease;
    }
    throw new LlmChatError(
      'TURN_IN_PROGRESS',
      `This user already has ${this.#max} conversation${this.#max === 1 ? '' : 's'} answering; wait for one to end.`,
    );
  }
}
