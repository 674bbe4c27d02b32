import { unrefTimer } from '../internal/unref-timer.js';
import type { TurnRef } from './turn-log.js';

/** What {@link StopMarkPoller} needs to know of a turn this process runs. */
export interface PolledTurn {
  readonly ref: TurnRef;
  /** How long the turn has been running, in ms. */
  readonly runningMs: number;
  /** Aborted once the turn is stopping or over: nothing left to ask for it. */
  readonly signal: AbortSignal;
  /** Stops the turn as its user asked. */
  stop(): unknown;
}

/** Options of {@link StopMarkPoller}. */
export interface StopMarkPollerOptions {
  /** How often the marks are read, and how old a turn must be before its mark is read. */
  everyMs: number;
  /** The turns this process runs now. */
  turns: () => Iterable<PolledTurn>;
  /** Whether a stop was marked in storage for the turn. */
  isMarked: (ref: TurnRef) => Promise<boolean>;
}

/**
 * Reads the stop marks of the long turns this process runs, every `everyMs` while it runs any.
 *
 * A stop asked on another process marks the turn in storage, then tells the process running it
 * over the message bus, which may lose the message (a Redis subscriber that reconnects drops
 * what was published meanwhile). The bus may only speed up what storage settles anyway: this is
 * the storage side, so a lost message delays a stop by up to about twice `everyMs` (a turn is
 * read once it is `everyMs` old, on the next round) instead of never stopping the turn. Turns younger than `everyMs` are not read (a short turn ends before its
 * mark would matter, and costs no read).
 * @internal
 */
export class StopMarkPoller {
  readonly #options: StopMarkPollerOptions;
  #timer: ReturnType<typeof setInterval> | undefined;
  #reading = false;

  constructor(options: StopMarkPollerOptions) {
    this.#options = options;
  }

  /** Starts reading, if not already: call it whenever a turn starts. */
  wake(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => void this.#read(), this.#options.everyMs);
    // Never what keeps a process alive (on every runtime: Deno's timers are numbers).
    unrefTimer(this.#timer);
  }

  /** Stops reading. */
  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #read(): Promise<void> {
    // A slow storage must not pile reads up: one round at a time.
    if (this.#reading) return;
    const live = [...this.#options.turns()].filter((turn) => !turn.signal.aborted);
    if (live.length === 0) {
      this.close();
      return;
    }
    const due = live.filter((turn) => turn.runningMs >= this.#options.everyMs);
    this.#reading = true;
    try {
      await Promise.all(
        due.map(async (turn) => {
          // Unreadable now is not stopped: the next round reads it again.
          if (await this.#options.isMarked(turn.ref).catch(() => false)) turn.stop();
        }),
      );
    } finally {
      this.#reading = false;
    }
  }
}
