import { describe, expect, it, vi } from 'vitest';
import { arrayHistory } from '../../src/chat/chat-history.js';
import { fencedHistory, savedTurnId } from '../../src/turns/fenced-history.js';
import type { TurnLog } from '../../src/turns/turn-log.js';

const ref = { userId: 'u', turnId: 't1' };
const turn = [
  { role: 'user' as const, content: 'q' },
  { role: 'assistant' as const, content: 'a' },
];

/** A log whose fence answers `holds` (and whose delete mark `deleted`), counting how often each is read. */
function fenceLog(holds: boolean, deleted = false) {
  const holdsEpoch = vi.fn(async () => holds);
  const isDeleted = vi.fn(async () => deleted);
  return { log: { holdsEpoch, isDeleted } as unknown as TurnLog, holdsEpoch, isDeleted };
}

describe('fencedHistory', () => {
  it('saves without reading the fence while the lease surely holds (a claim waits for it to end)', async () => {
    const history = arrayHistory();
    const { log, holdsEpoch } = fenceLog(false);
    await fencedHistory(history, log, { ref, epoch: 1, startedAt: Date.now() }, { remainingMs: () => 20_000 }).append(
      turn,
    );
    expect(holdsEpoch).not.toHaveBeenCalled();
    expect(history.messages).toHaveLength(2);
    expect(savedTurnId(history.messages)).toBe('t1');
  });

  it('reads the fence once the lease may have ended, and saves nothing when another process took over', async () => {
    const taken = fenceLog(false);
    const lost = arrayHistory();
    const warn = vi.fn();
    await fencedHistory(
      lost,
      taken.log,
      { ref, epoch: 1, startedAt: Date.now() },
      { remainingMs: () => 0 },
      { warn },
    ).append(turn);
    expect(taken.holdsEpoch).toHaveBeenCalledWith(ref, 1);
    expect(lost.messages).toEqual([]);
    expect(warn).toHaveBeenCalledOnce();

    const kept = fenceLog(true);
    const saved = arrayHistory();
    await fencedHistory(saved, kept.log, { ref, epoch: 2, startedAt: Date.now() }, { remainingMs: () => 500 }).append(
      turn,
    );
    expect(kept.holdsEpoch).toHaveBeenCalledWith(ref, 2);
    expect(saved.messages).toHaveLength(2);
  });

  it('saves nothing for a turn its conversation was deleted under, reading the mark only past the delete wait', async () => {
    const young = fenceLog(true, true);
    const kept = arrayHistory();
    // Started within the delete's wait: a delete would have waited for it, no read.
    await fencedHistory(
      kept,
      young.log,
      { ref, epoch: 1, startedAt: Date.now() - 4_000 },
      { remainingMs: () => 20_000 },
    ).append(turn);
    expect(young.isDeleted).not.toHaveBeenCalled();
    expect(kept.messages).toHaveLength(2);

    const old = fenceLog(true, true);
    const dropped = arrayHistory();
    const info = vi.fn();
    const since = { ref, epoch: 1, startedAt: Date.now() - 5_000 };
    await fencedHistory(dropped, old.log, since, { remainingMs: () => 20_000 }, { info }).append(turn);
    expect(old.isDeleted).toHaveBeenCalledWith(ref);
    expect(dropped.messages).toEqual([]);
    expect(info).toHaveBeenCalledOnce();

    // A mark that cannot be read is no delete.
    const unreadable = fenceLog(true);
    unreadable.isDeleted.mockRejectedValue(new Error('down'));
    const saved = arrayHistory();
    await fencedHistory(
      saved,
      unreadable.log,
      { ref, epoch: 2, startedAt: Date.now() },
      { remainingMs: () => 20_000 },
    ).append(turn);
    expect(saved.messages).toHaveLength(2);
  });
});
