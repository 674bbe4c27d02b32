import type { ChatHistory } from '../chat/chat-history.js';
import type { Logger } from '../types.js';
import type { TurnLog, TurnRef } from './turn-log.js';

/**
 * The history of a recorded turn, saved only while this process still owns the turn: right
 * before the save, the turn's fence must still hold `epoch`. A process paused past its lease,
 * whose turn another process took over and finishes, then saves nothing, so the conversation
 * keeps exactly one copy of the turn (the new owner's).
 *
 * The check and the save are two steps: a pause of the old owner exactly between them is not
 * covered; its lease-loss signal, which aborts the turn, is the second line.
 * @internal
 */
export function fencedHistory(
  history: ChatHistory,
  log: TurnLog,
  ref: TurnRef,
  epoch: number,
  logger?: Logger,
): ChatHistory {
  return {
    load: () => history.load(),
    append: async (turn) => {
      if (!(await log.holdsEpoch(ref, epoch))) {
        logger?.warn?.('A turn taken over by another process was not saved here.');
        return;
      }
      await history.append(turn);
    },
  };
}
