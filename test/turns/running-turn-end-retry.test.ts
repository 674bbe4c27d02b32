import { afterEach, describe, expect, it, vi } from 'vitest';
import { LlmChatError } from '../../src/errors.js';
import { MemoryTurnBackend } from '../../src/turns/memory-turn-backend.js';
import { RunningTurn } from '../../src/turns/running-turn.js';
import type { TurnBackend } from '../../src/turns/turn-backend.js';
import { TurnLog } from '../../src/turns/turn-log.js';
import type { ChatEvent } from '../../src/types.js';
import { asyncAppendOnly } from './async-append-only.js';

const backends: MemoryTurnBackend[] = [];
afterEach(async () => {
  await Promise.all(backends.splice(0).map((backend) => backend.close()));
});

/**
 * A store outside the process whose answer to the turn's last write is lost once: the write
 * landed, but the client gave up waiting (what a Redis command's timeout does on a slow Redis).
 */
function storeThatLosesTheLastAnswer(): { backend: TurnBackend; finalWrites: () => number } {
  const memory = asyncAppendOnly(new MemoryTurnBackend());
  backends.push(memory);
  const append = memory.append.bind(memory);
  let finalWrites = 0;
  memory.append = async (key, entries, options) => {
    const final = entries.at(-1)?.payload.startsWith('{"e":"final"') === true;
    if (final) finalWrites++;
    const written = await append(key, entries, options);
    if (final && finalWrites === 1)
      throw new LlmChatError('BACKEND_UNAVAILABLE', 'The storage did not answer in time.');
    return written;
  };
  return { backend: memory, finalWrites: () => finalWrites };
}

describe('RunningTurn, its last write answered with a failure though it landed', () => {
  it('finds its end stored and lets its lease go at the first retry, not at the deadline', async () => {
    const { backend, finalWrites } = storeThatLosesTheLastAnswer();
    const log = new TurnLog(backend);
    const ref = { userId: 'u', turnId: TurnLog.newTurnId() };
    const beforeEnd = vi.fn(async () => {});
    const turn = new RunningTurn({ ref, log, runningTtlMs: 4_000, epoch: 1, beforeEnd });
    turn.starterFeed({ paced: false });
    await turn.run(
      (async function* (): AsyncGenerator<ChatEvent> {
        yield { type: 'token', content: 'hi' };
        yield { type: 'final', content: 'hi', tool_used: false, tools: [], elapsed_ms: 1 };
      })(),
    );
    await vi.waitFor(() => expect(beforeEnd).toHaveBeenCalledTimes(1), { timeout: 10_000, interval: 20 });
    // The one write that landed, never sent again (it would be refused as out of order each time).
    expect(finalWrites()).toBe(1);
    expect((await log.read(ref, 0)).map((event) => event.event)).toEqual(['token', 'final']);
  });
});
