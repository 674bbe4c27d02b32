import { afterEach, expect, it, vi } from 'vitest';
import { MemoryMessageBus } from '../../src/bus/memory-message-bus.js';
import { MemoryTurnBackend } from '../../src/turns/memory-turn-backend.js';
import type { RunningTurn } from '../../src/turns/running-turn.js';
import { type RecordedEvent, TurnLog } from '../../src/turns/turn-log.js';
import { TurnManager } from '../../src/turns/turn-manager.js';
import type { ChatEvent } from '../../src/types.js';

// A reader on another process follows a turn through bus messages. One that stops reading must
// not keep every message of the turn: it is held to the log's bound, as a reader of the process
// that runs the turn is, and one that fell further behind is told it lost the turn.

const MAX_EVENTS = 10;
const closers: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** Two processes (managers) sharing one log and one bus; a turn on the first, fed token by token. */
async function remoteSetup(): Promise<{
  here: TurnManager;
  elsewhere: TurnManager;
  turn: RunningTurn;
  push: (text: string) => void;
  finish: () => void;
}> {
  const backend = new MemoryTurnBackend();
  const bus = new MemoryMessageBus();
  const here = new TurnManager({ log: new TurnLog(backend, { maxEvents: MAX_EVENTS }), bus, turnTimeoutMs: 60_000 });
  const elsewhere = new TurnManager({
    log: new TurnLog(backend, { maxEvents: MAX_EVENTS }),
    bus,
    turnTimeoutMs: 60_000,
  });
  let push: (text: string) => void = () => {};
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const turn = await here.start({
    userId: 'u',
    turnId: 'turnremote1',
    source: async function* (_signal, onToken): AsyncGenerator<ChatEvent> {
      push = (text) => onToken(text);
      await done;
      yield { type: 'final', content: '', tool_used: false, tools: [], elapsed_ms: 0 };
    },
  });
  // The starter's reader takes everything, so memory here does not hold events for it.
  const starter = turn.starterFeed({ paced: false });
  const pump = () => {
    starter.drain(() => true);
    starter.onReady(pump);
  };
  pump();
  closers.push(async () => {
    finish();
    await turn.stored;
    await here.close();
    await elsewhere.close();
    await backend.close();
  });
  return { here, elsewhere, turn, push: (text) => push(text), finish };
}

/**
 * Starts a read of the turn elsewhere and hands it its first event through the bus (not the
 * log): the reader then waits on its bus messages, where a reader that stops reading piles them up.
 */
async function followElsewhere(
  elsewhere: TurnManager,
  turn: RunningTurn,
  push: (text: string) => void,
): Promise<AsyncIterator<RecordedEvent>> {
  const logReads = vi.spyOn(elsewhere.log, 'read');
  const remote = elsewhere.read(turn.ref, 0)[Symbol.asyncIterator]();
  const first = remote.next();
  // Subscribed, asked the turn's process to announce, found the log empty: now waiting.
  await new Promise((resolve) => setTimeout(resolve, 20));
  const readsBefore = logReads.mock.calls.length;
  push('first ');
  expect((await first).value?.seq).toBe(1);
  expect(logReads).toHaveBeenCalledTimes(readsBefore);
  return remote;
}

/** Lets the log writes and their bus messages go through. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

/** Pushes `count` tokens a few at a time, letting each batch be stored and announced. */
async function pushTokens(push: (text: string) => void, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    push(`t${i} `);
    if (i % 3 === 2) await settle();
  }
  await settle();
}

/** The rest of a read: the events, or the code of the error it ended with. */
async function readRest(
  reader: AsyncIterator<RecordedEvent>,
): Promise<{ seqs: number[]; last?: string; error?: string }> {
  const seqs: number[] = [];
  let last: string | undefined;
  try {
    for (;;) {
      const next = await reader.next();
      if (next.done) return { seqs, ...(last ? { last } : {}) };
      seqs.push(next.value.seq);
      last = next.value.event;
    }
  } catch (error) {
    return { seqs, error: (error as { code?: string }).code ?? String(error) };
  }
}

it('a reader elsewhere that stops reading past the log bound gets RESUME_LOST, as a reader here does', async () => {
  const { here, elsewhere, turn, push, finish } = await remoteSetup();
  const remote = await followElsewhere(elsewhere, turn, push);
  const local = here.read(turn.ref, 0)[Symbol.asyncIterator]();
  expect((await local.next()).value?.seq).toBe(1);

  // Both stop reading while the turn records far more than the log keeps.
  await pushTokens(push, MAX_EVENTS * 4);
  finish();
  await turn.stored;

  // Neither can be handed the answer whole any more: the events after the first are gone.
  expect(await readRest(local)).toMatchObject({ error: 'RESUME_LOST' });
  expect(await readRest(remote)).toMatchObject({ error: 'RESUME_LOST' });
});

it('a reader elsewhere that falls behind by less than the log bound still gets every event', async () => {
  const { elsewhere, turn, push, finish } = await remoteSetup();
  const remote = await followElsewhere(elsewhere, turn, push);

  await pushTokens(push, MAX_EVENTS - 3);
  finish();
  await turn.stored;

  const rest = await readRest(remote);
  expect(rest.error).toBeUndefined();
  expect(rest.seqs).toEqual(Array.from({ length: MAX_EVENTS - 2 }, (_, i) => i + 2));
  expect(rest.last).toBe('final');
});
