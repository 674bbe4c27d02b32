import type { ChatHistory } from '../chat/chat-history.js';
import { copyWith } from '../internal/copy-with.js';
import type { LockLease } from '../lock/lock-manager.js';
import type { Logger, TranscriptMessage } from '../types.js';
import { STOP_WAIT_MS } from './stop-wait.js';
import type { TurnLog, TurnRef } from './turn-log.js';
import { saveOrSettle } from './unsure-save.js';

// How much of the lease must remain for the save to skip the fence read.
const SURELY_OWNED_MARGIN_MS = 2_000;

/** The recorded turn a {@link fencedHistory} saves. @internal */
export interface FencedTurn {
  ref: TurnRef;
  /** The epoch this process runs the turn in (1: it started it; more after takeovers). */
  epoch: number;
  /**
   * When the turn started (epoch ms), taken before its latest-turn record could be seen: a
   * delete finds the turn through that record, and waits for it from then on.
   */
  startedAt: number;
}

/**
 * The history of a recorded turn, saved only while this process still owns the turn: right
 * before the save, the turn's fence must still hold `epoch`. A process paused past its lease,
 * whose turn another process took over and finishes, then saves nothing, so the conversation
 * keeps exactly one copy of the turn (the new owner's). The saved user message carries the turn
 * id ({@link savedTurnId}): a process taking over a turn whose owner died right after saving it
 * then knows not to run it again.
 *
 * Nor is a turn saved whose conversation was deleted while it ran (see `STOP_WAIT_MS`).
 *
 * The check and the save are two steps: a pause of the old owner exactly between them is not
 * covered; its lease-loss signal, which aborts the turn, is the second line. While `lease` surely
 * holds for a while longer, the check needs no read at all (a claim waits for the lease to end).
 *
 * A save the storage did not answer in time may still land (a stalled Redis runs it late): the
 * history is then read again to tell, by the turn id, before the turn is reported failed (see
 * `saveOrSettle`). A save that succeeds costs nothing more.
 * @internal
 */
export function fencedHistory(
  history: ChatHistory,
  log: TurnLog,
  turn: FencedTurn,
  lease: Pick<LockLease, 'remainingMs'>,
  logger?: Logger,
): ChatHistory {
  const { ref, epoch, startedAt } = turn;
  return {
    load: () => history.load(),
    append: async (turn) => {
      // A claim needs the conversation's lease to have ended: while this process's lease surely
      // holds (with a margin for the save itself), nobody can have raised the fence, and the
      // check costs no read. Past that (a long pause, a slow store), the fence is read.
      const surelyOwned = lease.remainingMs() > SURELY_OWNED_MARGIN_MS;
      if (!surelyOwned && !(await log.holdsEpoch(ref, epoch))) {
        logger?.warn?.('A turn taken over by another process was not saved here.');
        return;
      }
      // A delete of the conversation waits for its running turn to end, then removes it anyway:
      // a turn still running then (the stop was lost, or it would not stop) has run longer than
      // that wait, and reads its stop mark rather than bring the conversation back. A turn taken
      // over started earlier elsewhere: it always reads. Shorter turns ended within the wait.
      const outlivedDeleteWait = epoch > 1 || Date.now() - startedAt >= STOP_WAIT_MS;
      // An unreadable mark is no delete: the save goes ahead (and fails on its own if storage is down).
      if (outlivedDeleteWait && (await log.isDeleted(ref).catch(() => false))) {
        logger?.info?.('A turn whose conversation was deleted while it ran was not saved.');
        return;
      }
      const [first, ...rest] = turn;
      if (first === undefined) return;
      const stamped: TranscriptMessage = copyWith(first, { turnId: ref.turnId });
      await saveOrSettle(() => history.append([stamped, ...rest]), history, ref.turnId, logger);
    },
  };
}

/** The id of the recorded turn a stored history turn came from, if it says. @internal */
export function savedTurnId(turn: readonly TranscriptMessage[]): string | undefined {
  const id = (turn[0] as { turnId?: unknown } | undefined)?.turnId;
  return typeof id === 'string' ? id : undefined;
}
