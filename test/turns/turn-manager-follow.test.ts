import { expect, it, vi } from 'vitest';
import { MemoryMessageBus } from '../../src/bus/memory-message-bus.js';
import { isPushSource, type PushSource, pullFrom } from '../../src/internal/push-source.js';
import { MemoryTurnBackend } from '../../src/turns/memory-turn-backend.js';
import type { RunningTurn } from '../../src/turns/running-turn.js';
import { turnEventsKey } from '../../src/turns/turn-keys.js';
import { type RecordedEvent, TurnLog } from '../../src/turns/turn-log.js';
import { TurnManager } from '../../src/turns/turn-manager.js';
import type { ChatEvent } from '../../src/types.js';
import { asyncAppendOnly } from './async-append-only.js';

/** A gate: `wait` settles once `open` is called. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open: () => void = () => {};
  const wait = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { wait, open };
}

/**
 * A turn of `manager` that streams `before`, waits for `release`, streams `after`, then ends
 * (its winding down waits for `windDown`, when given).
 */
function heldTurn(
  manager: TurnManager,
  text: { before: string[]; after: string[] },
  release: Promise<void>,
  windDown?: Promise<void>,
): Promise<RunningTurn> {
  return manager.start({
    userId: 'u',
    message: 'hi',
    source: async function* (): AsyncGenerator<ChatEvent> {
      for (const content of text.before) yield { type: 'token', content };
      await release;
      for (const content of text.after) yield { type: 'token', content };
      const content = [...text.before, ...text.after].join('');
      yield { type: 'final', content, tool_used: false, tools: [], elapsed_ms: 1 };
    },
    ...(windDown ? { onEnded: () => windDown } : {}),
  });
}

const contents = async (events: AsyncIterable<RecordedEvent> | PushSource<RecordedEvent>) => {
  const seen: string[] = [];
  for await (const event of isPushSource(events) ? pullFrom(events) : events) {
    seen.push(String(event.data.content ?? event.event));
  }
  return seen;
};

/** The starter's reader takes what `turn` recorded, until memory has let `count` events go. */
async function takeAsStarter(turn: RunningTurn, count: number): Promise<PushSource<RecordedEvent>> {
  const starter = turn.starterFeed({ paced: false });
  await vi.waitFor(() => {
    starter.drain(() => true);
    expect(turn.firstKeptSeq).toBe(count + 1);
  });
  return starter;
}

const newManager = (backend = new MemoryTurnBackend()) =>
  new TurnManager({ log: new TurnLog(backend), bus: new MemoryMessageBus(), turnTimeoutMs: 10_000 });

// A second reader of a turn this process runs (another tab's GET /chat/events, a retried send)
// follows it as the first one does: called back as events are recorded, not through a generator.
it('follows a turn of this process as a push source, and one it does not run through the log', async () => {
  const backend = new MemoryTurnBackend();
  const bus = new MemoryMessageBus();
  const manager = new TurnManager({ log: new TurnLog(backend), bus, turnTimeoutMs: 10_000 });
  const other = new TurnManager({ log: new TurnLog(backend), bus, turnTimeoutMs: 10_000 });
  const release = gate();
  const turn = await heldTurn(manager, { before: ['a'], after: [] }, release.wait);
  const here = manager.follow(turn.ref, 0);
  const elsewhere = other.follow(turn.ref, 0);
  expect(isPushSource(here)).toBe(true);
  expect(isPushSource(elsewhere)).toBe(false);
  const reading = [contents(here), contents(elsewhere)];
  release.open();
  expect(await Promise.all(reading)).toEqual([
    ['a', 'a'],
    ['a', 'a'],
  ]);
  await manager.close();
  await other.close();
});

// A long answer weighs on the log, not on the process: a reader that comes once the first
// events are stored and taken reads those from the log, then follows the rest from memory.
it('replays from the log what a turn of this process no longer keeps, then follows it live', async () => {
  const manager = newManager();
  const release = gate();
  const turn = await heldTurn(manager, { before: ['a', 'b', 'c'], after: ['d'] }, release.wait);
  await takeAsStarter(turn, 3);
  const late = manager.follow(turn.ref, 0);
  expect(isPushSource(late)).toBe(false);
  const reading = contents(late);
  release.open();
  expect(await reading).toEqual(['a', 'b', 'c', 'd', 'abcd']);
  await manager.close();
});

it('tells a late reader RESUME_LOST when the log lost what memory let go, instead of waiting', async () => {
  const backend = new MemoryTurnBackend();
  const manager = newManager(backend);
  const release = gate();
  const turn = await heldTurn(manager, { before: ['a', 'b', 'c'], after: ['d'] }, release.wait);
  await takeAsStarter(turn, 3);
  await backend.delete([turnEventsKey('u', turn.ref.turnId)]);
  await expect(contents(manager.follow(turn.ref, 0))).rejects.toMatchObject({ code: 'RESUME_LOST' });
  release.open();
  await manager.close();
});

// The last event reaches readers once the turn wound down (its lock let go): a reader that was
// replaying the log when it was stored must not find it there sooner.
it('holds the last event back from a reader replaying the log until the turn has wound down', async () => {
  const manager = newManager();
  const release = gate();
  const windDown = gate();
  const turn = await heldTurn(manager, { before: ['a', 'b'], after: [] }, release.wait, windDown.wait);
  await takeAsStarter(turn, 2);
  // A reader of this process that must replay the log (memory let 1 and 2 go).
  const late = manager.read(turn.ref, 0);
  release.open();
  // The final is recorded and stored; the turn is winding down.
  await vi.waitFor(async () => expect(await manager.log.last(turn.ref)).toMatchObject({ event: 'final' }));
  const seen: string[] = [];
  const reading = (async () => {
    for await (const event of late) seen.push(String(event.data.content));
  })();
  await vi.waitFor(() => expect(seen).toEqual(['a', 'b']));
  await new Promise((resolve) => setTimeout(resolve, 20));
  expect(seen).toEqual(['a', 'b']);
  windDown.open();
  await reading;
  expect(seen).toEqual(['a', 'b', 'ab']);
  await manager.close();
});

// A write that failed leaves a gap in the log that later writes skip: memory keeps everything
// from the gap on, so readers of this process still get every event.
it.each(['append', 'appendSync'] as const)(
  'keeps the events of a failed write, and those after it, for readers of this process (%s)',
  async (way) => {
    const backend = new MemoryTurnBackend();
    let failed = false;
    const failsOnce = (entries: readonly { seq: number }[]) => {
      if (failed || !entries.some((entry) => entry.seq === 2)) return false;
      failed = true;
      return true;
    };
    if (way === 'append') {
      const append = backend.append.bind(asyncAppendOnly(backend));
      backend.append = (key, entries, options) =>
        failsOnce(entries) ? Promise.reject(new Error('storage hiccup')) : append(key, entries, options);
    } else {
      const appendSync = backend.appendSync.bind(backend);
      backend.appendSync = (key, entries, options) => {
        if (failsOnce(entries)) throw new Error('storage hiccup');
        return appendSync(key, entries, options);
      };
    }
    const manager = newManager(backend);
    const release = gate();
    const turn = await manager.start({
      userId: 'u',
      message: 'hi',
      source: async function* (): AsyncGenerator<ChatEvent> {
        yield { type: 'token', content: 'a' };
        yield { type: 'token', content: 'b' };
        // A later write, after the failed one, that the log takes.
        await new Promise((resolve) => setTimeout(resolve, 10));
        yield { type: 'token', content: 'c' };
        await release.wait;
        yield { type: 'final', content: 'abc', tool_used: false, tools: [], elapsed_ms: 1 };
      },
    });
    const starter = await takeAsStarter(turn, 1);
    const stored = () => backend.read(turnEventsKey('u', turn.ref.turnId), 0, 10);
    await vi.waitFor(async () => expect((await stored()).map((entry) => entry.seq)).toEqual([1, 3]));
    starter.drain(() => true);
    expect(failed).toBe(true);
    expect(turn.firstKeptSeq).toBe(2);
    const late = contents(manager.follow(turn.ref, 1));
    release.open();
    expect(await late).toEqual(['b', 'c', 'abc']);
    await manager.close();
  },
);
