import type { ChatHistory } from '../chat/chat-history.js';
import { isLlmChatError, LlmChatError } from '../errors.js';
import { sleep } from '../internal/sleep.js';
import type { Logger, TranscriptMessage } from '../types.js';

/** How long the history is read again after a save that may have landed (the reads' own time included). */
const CHECK_FOR_MS = 5_000;
const FIRST_PAUSE_MS = 100;
const MAX_PAUSE_MS = 1_000;

/**
 * What a turn whose save may or may not have landed ends with: the user can see the history to
 * tell, and should before sending the message again (it may be there already).
 * @internal
 */
export const UNSURE_SAVE_MESSAGE =
  'The storage backend did not answer in time, and the answer may have been saved all the same: reload the history before sending the message again.';

/**
 * Runs `save`, the append of the turn named `turnId` (its first message carries that id), and
 * settles what its failure leaves open. A storage that did not answer in time may still run the
 * write (a stalled Redis runs its queue once it wakes): reported as a failure, the turn would be
 * retried by the client and kept twice. So the history is read again for a few seconds at most,
 * until a read is answered: one sent after the write on the same connection runs after it, and
 * tells whether the turn is there. Found: the save counts as done (the turn ends with `final`).
 * Not found: the original failure, safe to retry. Still no answer: a `BACKEND_UNAVAILABLE` whose
 * message says the answer may have been saved ({@link UNSURE_SAVE_MESSAGE}). Nothing is read on
 * a save that succeeds, nor after a failure whose write surely never ran.
 * @internal
 */
export async function saveOrSettle(
  save: () => Promise<void>,
  history: ChatHistory,
  turnId: string,
  logger?: Logger,
): Promise<void> {
  try {
    await save();
    return;
  } catch (error) {
    if (!mayHaveRun(error)) throw error;
    const until = Date.now() + CHECK_FOR_MS;
    for (let pauseMs = FIRST_PAUSE_MS; Date.now() < until; pauseMs = Math.min(pauseMs * 2, MAX_PAUSE_MS)) {
      await sleep(Math.min(pauseMs, until - Date.now()));
      let messages: TranscriptMessage[];
      try {
        messages = await history.load();
      } catch {
        // Still no answer (a stalled store may refuse at once until it answers again): look again.
        continue;
      }
      if (!holdsTurn(messages, turnId)) throw error;
      logger?.warn?.('A turn whose save timed out was saved all the same.');
      return;
    }
    throw new LlmChatError('BACKEND_UNAVAILABLE', UNSURE_SAVE_MESSAGE, {
      cause: error,
      details: { saved: 'unknown' },
    });
  }
}

/**
 * Whether a failed write may still have run: a storage failure, unless the client refused the
 * command before sending it (`redisStorage` does while its client is disconnected, and names the
 * client's state in `details.status`).
 */
function mayHaveRun(error: unknown): boolean {
  return isLlmChatError(error) && error.code === 'BACKEND_UNAVAILABLE' && error.details?.status === undefined;
}

/** Whether the history holds the turn: its user message carries the turn's id. */
function holdsTurn(messages: readonly TranscriptMessage[], turnId: string): boolean {
  for (let i = messages.length - 1; i >= 0; i--) {
    if ((messages[i] as { turnId?: unknown }).turnId === turnId) return true;
  }
  return false;
}
