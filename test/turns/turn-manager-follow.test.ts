import { expect, it } from 'vitest';
import { MemoryMessageBus } from '../../src/bus/memory-message-bus.js';
import { isPushSource, pullFrom } from '../../src/internal/push-source.js';
import { MemoryTurnBackend } from '../../src/turns/memory-turn-backend.js';
import { TurnLog } from '../../src/turns/turn-log.js';
import { TurnManager } from '../../src/turns/turn-manager.js';
import type { ChatEvent } from '../../src/types.js';

// A second reader of a turn this process runs (another tab's GET /chat/events, a retried send)
// follows it as the first one does: called back as events are recorded, not through a generator.
it('follows a turn of this process as a push source, and one it does not run through the log', async () => {
  const backend = new MemoryTurnBackend();
  const bus = new MemoryMessageBus();
  const manager = new TurnManager({ log: new TurnLog(backend), bus, turnTimeoutMs: 10_000 });
  const other = new TurnManager({ log: new TurnLog(backend), bus, turnTimeoutMs: 10_000 });
  let finish: () => void = () => {};
  const released = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const turn = await manager.start({
    userId: 'u',
    message: 'hi',
    source: async function* (): AsyncGenerator<ChatEvent> {
      yield { type: 'token', content: 'a' };
      await released;
      yield { type: 'final', content: 'a', tool_used: false, tools: [], elapsed_ms: 1 };
    },
  });
  const here = manager.follow(turn.ref, 0);
  const elsewhere = other.follow(turn.ref, 0);
  expect(isPushSource(here)).toBe(true);
  expect(isPushSource(elsewhere)).toBe(false);
  const read = async (events: typeof here) => {
    const seen: string[] = [];
    for await (const event of isPushSource(events) ? pullFrom(events) : events) seen.push(event.event);
    return seen;
  };
  const reading = [read(here), read(elsewhere)];
  finish();
  expect(await Promise.all(reading)).toEqual([
    ['token', 'final'],
    ['token', 'final'],
  ]);
  await manager.close();
  await other.close();
});
