import { LlmChatError } from '../errors.js';
import { unrefTimer } from '../internal/unref-timer.js';
import type { HeldLock } from '../lock/lock.js';
import type { LockManager } from '../lock/lock-manager.js';
import { streamSlotKey } from '../session/session-keys.js';
import type { Logger } from '../types.js';

/** A held slot; `release` is idempotent and never throws. */
export interface StreamSlot {
  release(): void;
}

/**
 * Caps how many turns one user has open at once, across every process: slot `i` of a user is
 * the lock `{u:<user>}:stream:<i>`, held with a renewed lease, so at most `max` can be held at
 * any moment and a process that dies frees its slots when their lease ends. (A counter in
 * rate-limiter-flexible would be the other way, but its fixed window expires under long
 * streams and a later `reward` then drives the count below zero: over-admission.)
 * @internal
 */
export class StreamSlots {
  readonly #locks: LockManager;
  readonly #ttlMs: number;
  readonly #logger: Logger | undefined;

  constructor(locks: LockManager, options: { ttlMs?: number; logger?: Logger | undefined } = {}) {
    this.#locks = locks;
    this.#ttlMs = options.ttlMs ?? 30_000;
    this.#logger = options.logger;
  }

  /**
   * Takes a free slot of `userId`'s `max`.
   * @throws LlmChatError `RATE_LIMITED` (retry after a second) when all are held.
   */
  async take(userId: string, max: number): Promise<StreamSlot> {
    if (!Number.isInteger(max) || max < 1) {
      throw new LlmChatError('CONFIG_INVALID', 'concurrentStreams must be a whole number of at least 1.');
    }
    // Starting from a random slot spreads concurrent takers over the slots.
    const start = Math.floor(Math.random() * max);
    for (let i = 0; i < max; i++) {
      const lock = await this.#locks.tryAcquire(streamSlotKey(userId, (start + i) % max), { ttlMs: this.#ttlMs });
      if (lock) return this.#hold(lock);
    }
    throw new LlmChatError('RATE_LIMITED', 'Too many chat streams are open for this user.', { retryAfterMs: 1000 });
  }

  #hold(lock: HeldLock): StreamSlot {
    const renew = setInterval(
      () => {
        lock
          .extend()
          .catch((error: unknown) => this.#logger?.warn?.('could not renew a stream slot', { error: String(error) }));
      },
      Math.max(1, Math.floor(this.#ttlMs / 3)),
    );
    unrefTimer(renew);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        clearInterval(renew);
        lock
          .release()
          .catch((error: unknown) => this.#logger?.warn?.('could not free a stream slot', { error: String(error) }));
      },
    };
  }
}
