import { expect, it, vi } from 'vitest';
import { MemoryMessageBus } from '../../src/bus/memory-message-bus.js';
import { isPushSource, type PushSource, pullFrom } from '../../src/internal/push-source.js';
import { MemoryTurnBackend } from '../../src/turns/memory-turn-backend.js';
import { turnEventsKey } from '../../src/turns/turn-keys.js';
import { type RecordedEvent, TurnLog } from '../../src/turns/turn-log.js';
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

/** A turn of `manager` whose first three tokens are out and whose end waits for `finish`. */
async function heldTurn(manager: TurnManager) {
  let finish: () => void = () => {};
  const released = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const turn = await manager.start({
    userId: 'u',
    message: 'hi',
    source: async function* (): AsyncGenerator<ChatEvent> {
      for (const content of ['a', 'b', 'c']) yield { type: 'token', content };
      await released;
      yield { type: 'token', content: 'd' };
      yield { type: 'final', content: 'abcd', tool_used: false, tools: [], elapsed_ms: 1 };
    },
  });
  // The starter's reader takes the three tokens; once the log has them, memory lets them go.
  const starter = turn.starterFeed({ paced: false });
  const seen: string[] = [];
  await vi.waitFor(() => {
    starter.drain((event) => {
      seen.push(String(event.data.content));
      return true;
    });
    const probe = turn.feed(0);
    probe?.close();
    expect(seen).toEqual(['a', 'b', 'c']);
    expect(probe).toBeUndefined();
  });
  return { turn, finish };
}

const contents = async (events: AsyncIterable<RecordedEvent> | PushSource<RecordedEvent>) => {
  const seen: string[] = [];
  for await (const event of isPushSource(events) ? pullFrom(events) : events) {
    seen.push(String(event.data.content ?? event.event));
  }
  return seen;
};

// A long answer weighs on the log, not on the process: a reader that comes once the first
// events are stored and taken reads those from the log, then follows the rest from memory.
it('replays from the log what a turn of this process no longer keeps, then follows it live', async () => {
  const manager = new TurnManager({
    log: new TurnLog(new MemoryTurnBackend()),
    bus: new MemoryMessageBus(),
    turnTimeoutMs: 10_000,
  });
  const { turn, finish } = await heldTurn(manager);
  const late = manager.follow(turn.ref, 0);
  expect(isPushSource(late)).toBe(false);
  const reading = contents(late);
  finish();
  expect(await reading).toEqual(['a', 'b', 'c', 'd', 'abcd']);
  await manager.close();
});

it('tells a late reader RESUME_LOST when the log lost what memory let go, instead of waiting', async () => {
  const backend = new MemoryTurnBackend();
  const manager = new TurnManager({ log: new TurnLog(backend), bus: new MemoryMessageBus(), turnTimeoutMs: 10_000 });
  const { turn, finish } = await heldTurn(manager);
  await backend.delete([turnEventsKey('u', turn.ref.turnId)]);
  await expect(contents(manager.follow(turn.ref, 0))).rejects.toMatchObject({ code: 'RESUME_LOST' });
  finish();
  await manager.close();
});
