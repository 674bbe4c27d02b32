import type { CacheLease } from '../chat/connection-cache.js';
import { LlmChatError } from '../errors.js';
import { unrefTimer } from '../internal/unref-timer.js';
import { type LockLease, onLeaseEnd } from '../lock/lock-manager.js';

// A stream nobody reads never winds down by itself: after the deadline has stopped the turn, its
// lock and connection are let go this much later at the most.
const MAX_WIND_DOWN_MS = 10_000;

/**
 * What one running turn holds (the user's turn lock, a borrowed live session, a deadline) and
 * the one way to let all of it go: {@link end}, idempotent and never rejecting. The route calls it
 * from a single `finally`, or hands it to the stream that carries the turn.
 * @internal
 */
export class TurnScope {
  readonly #lease: LockLease;
  // No signal of its own: the turn it stops is aborted directly (on Node 20 a signal costs about
  // 5 µs and 1 KB, and a turn's lives as long as the turn).
  #stopped: { reason: unknown } | undefined;
  #turn: StoppableTurn | undefined;
  #live: CacheLease<unknown> | undefined;
  readonly #leases: LockLease[] = [];
  #deadline: ReturnType<typeof setTimeout> | undefined;
  #ended: Promise<void> | undefined;

  constructor(lease: LockLease, turnTimeoutMs: number) {
    this.#lease = lease;
    // The lease's loss stops the turn like a slot's (no `AbortSignal.any`: it costs ~8 µs a turn).
    this.#stopOnLoss(lease);
    this.#deadline = setTimeout(() => {
      this.stop(new LlmChatError('TIMEOUT', 'The chat turn took too long and was stopped.'));
      this.#deadline = setTimeout(() => void this.end(), Math.min(MAX_WIND_DOWN_MS, turnTimeoutMs));
      unrefTimer(this.#deadline);
    }, turnTimeoutMs);
    unrefTimer(this.#deadline);
  }

  /**
   * The running turn this scope stops when the lease is lost, the deadline passes or {@link stop}
   * is called: its chat loop is aborted with that reason, at once if the scope has stopped already.
   */
  stopsTurn(turn: StoppableTurn): void {
    this.#turn = turn;
    if (this.#stopped !== undefined) turn.abort(asTurnError(this.#stopped.reason));
  }

  /** Keeps a borrowed live session until {@link end}, and returns what it holds. */
  use<T>(live: CacheLease<T>): T {
    this.#live = live;
    return live.value;
  }

  /** Keeps another lease (a conversation slot) until {@link end}; losing it stops the turn too. */
  keep(lease: LockLease | null): void {
    if (lease === null) return;
    this.#leases.push(lease);
    this.#stopOnLoss(lease);
  }

  #stopOnLoss(lease: LockLease): void {
    onLeaseEnd(lease, (reason) => this.stop(reason));
  }

  /** How long the turn's lease surely still holds (see `LockLease.remainingMs`). */
  remainingMs(): number {
    return this.#lease.remainingMs();
  }

  /** Stops the turn's work (LLM request, tool calls) with `reason`; {@link end} still follows. */
  stop(reason: unknown): void {
    if (this.#stopped !== undefined) return;
    this.#stopped = { reason };
    this.#turn?.abort(asTurnError(reason));
  }

  /** Lets the live session and the lock go, once. Resolves when the lock is released (or known lost). */
  end(): Promise<void> {
    if (this.#ended === undefined) {
      clearTimeout(this.#deadline);
      try {
        this.#live?.release();
      } catch {
        // Nothing may keep the lock from being released below.
      }
      // release() never rejects: a failed release is logged and the lease ends by its TTL.
      this.#ended = Promise.all([this.#lease, ...this.#leases].map((lease) => lease.release())).then(() => undefined);
    }
    return this.#ended;
  }
}

/** What a scope stops: a running turn (see `RunningTurn.abort`). @internal */
export interface StoppableTurn {
  abort(reason: LlmChatError): void;
}

// The scope's reasons are the library's own (a lost lease, the deadline); anything else is a stop.
function asTurnError(reason: unknown): LlmChatError {
  return reason instanceof LlmChatError
    ? reason
    : new LlmChatError('ABORTED', 'The chat turn was stopped.', { cause: reason });
}
