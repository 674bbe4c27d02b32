import { afterEach, describe, expect, it, vi } from 'vitest';
import { arrayHistory } from '../../src/chat/chat-history.js';
import { isLlmChatError, LlmChatError } from '../../src/errors.js';
import { fencedHistory, savedTurnId } from '../../src/turns/fenced-history.js';
import type { TurnLog } from '../../src/turns/turn-log.js';
import { UNSURE_SAVE_MESSAGE } from '../../src/turns/unsure-save.js';

// A history save the storage did not answer in time may land all the same (a stalled Redis runs
// it once it wakes). Reported as a failure, the client retries the message and the turn is kept
// twice; so the history is read again before the turn is reported failed.

const ref = { userId: 'u', turnId: 't1' };
const turn = [
  { role: 'user' as const, content: 'q' },
  { role: 'assistant' as const, content: 'a' },
];
const surelyOwned = { remainingMs: () => 60_000 };
const log = {} as TurnLog;
const timedOut = () => new LlmChatError('BACKEND_UNAVAILABLE', 'The storage backend did not answer in time.');

afterEach(() => {
  vi.useRealTimers();
});

async function errorOf(promise: Promise<unknown>): Promise<LlmChatError> {
  try {
    await promise;
  } catch (error) {
    if (isLlmChatError(error)) return error;
    throw error;
  }
  throw new Error('resolved');
}

describe('fencedHistory, a save that timed out', () => {
  it('counts as saved when the history holds the turn after all, and as failed when it does not', async () => {
    // The write ran, but its answer came too late.
    const late = arrayHistory();
    const append = late.append;
    late.append = async (messages) => {
      await append(messages);
      throw timedOut();
    };
    await fencedHistory(late, log, { ref, epoch: 1, startedAt: Date.now() }, surelyOwned).append(turn);
    expect(late.messages).toHaveLength(2);
    expect(savedTurnId(late.messages)).toBe('t1');

    // The write never ran: the original failure, which a client may retry safely.
    const lost = arrayHistory([
      { role: 'user', content: 'q', turnId: 'an-older-turn' } as never,
      { role: 'assistant', content: 'a' },
    ]);
    const failure = timedOut();
    lost.append = async () => {
      throw failure;
    };
    expect(
      await errorOf(fencedHistory(lost, log, { ref, epoch: 1, startedAt: Date.now() }, surelyOwned).append(turn)),
    ).toBe(failure);
  });

  it('says the answer may have been saved when the history cannot be read either', async () => {
    vi.useFakeTimers();
    const history = arrayHistory();
    history.append = async () => {
      throw timedOut();
    };
    const load = vi.fn(async () => {
      throw timedOut();
    });
    history.load = load;
    const saving = errorOf(
      fencedHistory(history, log, { ref, epoch: 1, startedAt: Date.now() }, surelyOwned).append(turn),
    );
    await vi.advanceTimersByTimeAsync(10_000);
    const error = await saving;
    expect(load).toHaveBeenCalled();
    expect([error.code, error.message, error.recoverable]).toEqual(['BACKEND_UNAVAILABLE', UNSURE_SAVE_MESSAGE, true]);
  });
});
