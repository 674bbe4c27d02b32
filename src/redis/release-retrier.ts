import { unrefTimer } from '../internal/unref-timer.js';

const FIRST_DELAY_MS = 100;
const MAX_DELAY_MS = 2000;

interface Pending {
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * Keeps trying to free locks whose release could not reach Redis (a failover, a stall, a
 * reconnect), with backoff, until a release goes through or the lease has ended by itself. So a
 * user is kept out for the length of the outage, not for the rest of the lease. One retry loop
 * per lock key and token; timers are `unref()`ed and cancelled by {@link close}. The turn
 * backend retries its take-backs of late record writes the same way, until the record's end.
 * @internal
 */
export class ReleaseRetrier {
  readonly #pending = new Map<string, Pending>();
  #closed = false;

  /**
   * Calls `attempt` again and again (backoff from 100 ms to 2 s) until it settles without
   * throwing, or until `untilMs` (epoch ms) has passed. Its answer does not matter: `false`
   * means the lease was already gone, which is just as good.
   */
  retry(id: string, untilMs: number, attempt: () => Promise<unknown>): void {
    if (this.#closed || this.#pending.has(id)) return;
    const pending: Pending = { timer: undefined };
    this.#pending.set(id, pending);
    let delayMs = FIRST_DELAY_MS;
    const next = () => {
      if (this.#closed || Date.now() >= untilMs) {
        this.#pending.delete(id);
        return;
      }
      pending.timer = setTimeout(
        () => {
          attempt().then(
            () => this.#pending.delete(id),
            () => {
              delayMs = Math.min(delayMs * 2, MAX_DELAY_MS);
              next();
            },
          );
        },
        Math.min(delayMs, Math.max(0, untilMs - Date.now())),
      );
      unrefTimer(pending.timer);
    };
    next();
  }

  /** How many releases are still being retried. */
  get size(): number {
    return this.#pending.size;
  }

  /** Stops every retry; leases still held then end by their TTL. */
  close(): void {
    this.#closed = true;
    for (const pending of this.#pending.values()) clearTimeout(pending.timer);
    this.#pending.clear();
  }
}
