import { unrefTimer } from '../internal/unref-timer.js';

const FIRST_DELAY_MS = 100;
const MAX_DELAY_MS = 500;

/** One turn's last event still to be stored. */
interface PendingEnd {
  /** One try: `true` once nothing is left to do (stored, found stored, refused by a fence). */
  readonly attempt: () => Promise<boolean>;
  /** Epoch ms after which it is given up. */
  readonly untilMs: number;
  readonly settle: () => void;
  /** A try of it is under way. */
  busy: boolean;
}

/**
 * The last events of one log's turns whose write failed (the storage was down or stalled when
 * the turn ended), retried until each is stored or its deadline passes. While the storage
 * fails, one timer for them all tries one of them at a time (round robin, every 100–500 ms):
 * a storage client that knows it is down fails at once, so the tries cost no I/O, and however
 * many turns ended during an outage, a process polls once. As soon as one try goes through,
 * every other one is tried at once: the ends land within a poll of the storage coming back,
 * before a user's next request is likely to find those turns unfinished and take them over.
 * Memory: one entry per turn, dropped once stored or given up. Timers are `unref()`ed.
 * @internal
 */
export class EndRetrier {
  readonly #pending = new Set<PendingEnd>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #delayMs = FIRST_DELAY_MS;
  #probing = false;

  /**
   * Tries `attempt` again and again until it resolves `true` or `untilMs` (epoch ms) has passed;
   * a rejection counts as "not yet". Resolves then, never rejects.
   */
  retry(attempt: () => Promise<boolean>, untilMs: number): Promise<void> {
    return new Promise((settle) => {
      this.#pending.add({ attempt, untilMs, settle, busy: false });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#probing || this.#pending.size === 0) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#probe();
    }, this.#delayMs);
    unrefTimer(this.#timer);
  }

  /** Tries the oldest idle end; when it goes through, all the others follow at once. */
  async #probe(): Promise<void> {
    this.#dropExpired();
    const next = [...this.#pending].find((pending) => !pending.busy);
    if (next === undefined) return;
    this.#probing = true;
    const through = await this.#try(next);
    this.#probing = false;
    if (through) {
      this.#delayMs = FIRST_DELAY_MS;
      for (const pending of [...this.#pending]) {
        if (!pending.busy) void this.#try(pending).then(() => this.#schedule());
      }
    } else {
      this.#delayMs = Math.min(this.#delayMs * 2, MAX_DELAY_MS);
    }
    this.#schedule();
  }

  /** One try of `pending`; whether it settled it. A failed one goes to the back of the line. */
  async #try(pending: PendingEnd): Promise<boolean> {
    pending.busy = true;
    let done = false;
    try {
      done = await pending.attempt();
    } catch {
      // The storage still fails: tried again later.
    }
    pending.busy = false;
    this.#pending.delete(pending);
    if (done) pending.settle();
    else this.#pending.add(pending);
    return done;
  }

  #dropExpired(): void {
    const now = Date.now();
    for (const pending of this.#pending) {
      if (pending.busy || now < pending.untilMs) continue;
      this.#pending.delete(pending);
      pending.settle();
    }
  }
}

const retriers = new WeakMap<object, EndRetrier>();

/** The {@link EndRetrier} of `log`: one per log, so one poll per process and storage. @internal */
export function endRetrierOf(log: object): EndRetrier {
  let retrier = retriers.get(log);
  if (retrier === undefined) {
    retrier = new EndRetrier();
    retriers.set(log, retrier);
  }
  return retrier;
}
