import { describe, expect, it, vi } from 'vitest';
import { type PushSource, pullFrom } from '../../src/internal/push-source.js';
import { MemoryTurnBackend } from '../../src/turns/memory-turn-backend.js';
import { RunningTurn } from '../../src/turns/running-turn.js';
import { type RecordedEvent, TurnLog } from '../../src/turns/turn-log.js';
import type { ChatEvent } from '../../src/types.js';
import { asyncAppendOnly } from './async-append-only.js';

// Readers of a running turn park between events; a reader's signal must unpark it at once,
// while the other readers go on getting every event.
function gatedTurn() {
  const turn = new RunningTurn({
    ref: { userId: 'u', turnId: TurnLog.newTurnId() },
    log: new TurnLog(new MemoryTurnBackend()),
    runningTtlMs: 10_000,
  });
  const gates = [0, 1, 2].map(() => {
    let resolve: () => void = () => {};
    const promise = new Promise<void>((settle) => {
      resolve = settle;
    });
    return { promise, resolve };
  });
  const running = turn.run(
    (async function* (): AsyncGenerator<ChatEvent> {
      yield { type: 'token', content: 'a' };
      await gates[0]?.promise;
      yield { type: 'token', content: 'b' };
      await gates[1]?.promise;
      yield { type: 'token', content: 'c' };
      await gates[2]?.promise;
      yield { type: 'final', content: 'abc', tool_used: false, tools: [], elapsed_ms: 1 };
    })(),
  );
  return { turn, open: (i: number) => gates[i]?.resolve(), running };
}

/** A reader that takes what `feed` has whenever `take` is called, noting each event's seq in `seen`. */
function seqTaker(feed: PushSource<RecordedEvent>) {
  const seen: number[] = [];
  const take = () =>
    feed.drain((event) => {
      seen.push(event.seq);
      return true;
    });
  return { seen, take };
}

/**
 * A turn over a memory log written like a store outside the process, whose writes may be held
 * (`gate`), and a feed reader that takes every event as it is called back, noting whether the
 * log had stored it by then.
 */
function followedTurn(gate?: () => Promise<void>) {
  const backend = asyncAppendOnly(new MemoryTurnBackend());
  const stored: number[] = [];
  const append = backend.append.bind(backend);
  backend.append = async (key, entries, options) => {
    if (gate) await gate();
    const written = await append(key, entries, options);
    for (const entry of entries) stored.push(entry.seq);
    return written;
  };
  const turn = new RunningTurn({
    ref: { userId: 'u', turnId: TurnLog.newTurnId() },
    log: new TurnLog(backend),
    runningTtlMs: 10_000,
  });
  const feed = turn.feed(0);
  if (feed === undefined) throw new Error('a new turn has a feed');
  const taken: Array<{ seq: number; storedBefore: boolean }> = [];
  const follow = () => {
    const ended = feed.drain((event) => {
      taken.push({ seq: event.seq, storedBefore: stored.includes(event.seq) });
      return true;
    });
    if (!ended) feed.onReady(follow);
  };
  follow();
  return { turn, taken };
}

describe('RunningTurn readers', () => {
  it.each([0, 1])(
    'a parked reader whose signal aborts ends at once (parked %i-th); the others still get every event',
    async (leaver) => {
      const { turn, open, running } = gatedTurn();
      const leaving = new AbortController();
      const readers = [0, 1, 2].map((i) => turn.events(0, i === leaver ? leaving.signal : undefined));
      // Every reader takes `a`, then parks for the next event, in order.
      for (const reader of readers) expect((await reader?.next())?.value?.data).toEqual({ content: 'a' });
      const parked = readers.map((reader) => reader?.next());
      leaving.abort();
      expect(await parked[leaver]).toEqual({ done: true, value: undefined });
      for (const gate of [0, 1, 2]) open(gate);
      const staying = readers.filter((_, i) => i !== leaver);
      const seen = await Promise.all(
        staying.map(async (reader, i) => {
          const events = [(await parked[i >= leaver ? i + 1 : i])?.value?.event];
          for await (const event of reader ?? []) events.push(event.event);
          return events;
        }),
      );
      for (const events of seen) expect(events).toEqual(['token', 'token', 'final']);
      await running;
    },
  );

  it('a reader that closes while parked leaves nothing parked behind, however many come and go', async () => {
    const { turn, open, running } = gatedTurn();
    await vi.waitFor(() => expect(turn.lastSeq).toBe(1));
    // Readers that come, park for the next event, and leave while the turn is quiet.
    for (let i = 0; i < 1_000; i++) {
      const feed = turn.feed(0) as PushSource<RecordedEvent>;
      seqTaker(feed).take();
      feed.onReady(() => {});
      feed.close();
    }
    expect(turn.parkedReaders).toBe(0);
    const staying = turn.feed(0) as PushSource<RecordedEvent>;
    const taker = seqTaker(staying);
    taker.take();
    staying.onReady(() => taker.take());
    expect(turn.parkedReaders).toBe(1);
    open(0);
    await vi.waitFor(() => expect(taker.seen).toEqual([1, 2]));
    for (const gate of [1, 2]) open(gate);
    await running;
  });

  it('readers parked together are each woken for each event, again and again', async () => {
    const { turn, open, running } = gatedTurn();
    const readers = [turn.events(0), turn.events(0), pullFrom(turn.starterFeed({ paced: true }))];
    const collected = readers.map(async (reader) => {
      const contents: unknown[] = [];
      for await (const event of reader ?? []) contents.push(event.data.content);
      return contents;
    });
    for (const gate of [0, 1, 2]) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      open(gate);
    }
    for (const contents of await Promise.all(collected)) expect(contents).toEqual(['a', 'b', 'c', 'abc']);
    await running;
  });

  it('over a log outside the process, a feed takes each event once the log stored it', async () => {
    const { turn, taken } = followedTurn();
    await turn.run(
      (async function* (): AsyncGenerator<ChatEvent> {
        yield { type: 'token', content: 'a' };
        yield { type: 'token', content: 'b' };
        yield { type: 'final', content: 'ab', tool_used: false, tools: [], elapsed_ms: 1 };
      })(),
    );
    await vi.waitFor(() => expect(taken.map((entry) => entry.seq)).toEqual([1, 2, 3]));
    // Not when it was asked of the log: a write refused (another process took the turn over)
    // would leave a client holding an event, and its id, that the new owner numbers again.
    expect(taken.every((entry) => entry.storedBefore)).toBe(true);
    expect(turn.feed(0)?.drain(() => true)).toBe(true);
  });

  it('over a log in this process, each event is stored before a reader takes it, in the step that records it', async () => {
    const backend = new MemoryTurnBackend();
    const stored: number[] = [];
    const appendSync = backend.appendSync.bind(backend);
    backend.appendSync = (key, entries, options) => {
      const written = appendSync(key, entries, options);
      for (const entry of entries) stored.push(entry.seq);
      return written;
    };
    const turn = new RunningTurn({
      ref: { userId: 'u', turnId: TurnLog.newTurnId() },
      log: new TurnLog(backend),
      runningTtlMs: 10_000,
    });
    const taken: string[] = [];
    const feed = turn.feed(0);
    const follow = () => {
      const ended = feed?.drain((event) => {
        taken.push(`${event.seq}${stored.includes(event.seq) ? ' stored' : ''}`);
        return true;
      });
      if (ended === false) feed?.onReady(follow);
    };
    follow();
    // Three tokens in one step (what one network chunk brings): each one is written and taken
    // before the next is recorded, with no write in flight to queue behind.
    turn.pushToken('a');
    turn.pushToken('b');
    turn.pushToken('c');
    expect(stored).toEqual([1, 2, 3]);
    expect(taken).toEqual(['1 stored', '2 stored', '3 stored']);
    await turn.run(
      (async function* (): AsyncGenerator<ChatEvent> {
        yield { type: 'final', content: 'abc', tool_used: false, tools: [], elapsed_ms: 1 };
      })(),
    );
    expect(taken).toEqual(['1 stored', '2 stored', '3 stored', '4 stored']);
  });

  it('a feed reader that throws when woken neither stops the turn nor keeps the other readers from their events', async () => {
    const turn = new RunningTurn({
      ref: { userId: 'u', turnId: TurnLog.newTurnId() },
      log: new TurnLog(new MemoryTurnBackend()),
      runningTtlMs: 10_000,
    });
    const failing = turn.feed(0);
    failing?.onReady(() => {
      throw new Error('the socket went away mid-write');
    });
    const steady = turn.events(0);
    const seen = (async () => {
      const events: string[] = [];
      for await (const event of steady ?? []) events.push(event.event);
      return events;
    })();
    await turn.run(
      (async function* (): AsyncGenerator<ChatEvent> {
        yield { type: 'token', content: 'a' };
        yield { type: 'final', content: 'a', tool_used: false, tools: [], elapsed_ms: 1 };
      })(),
    );
    expect(await seen).toEqual(['token', 'final']);
    // The turn ended with its own final, not the error a failed source gets.
    expect((await turn.events(0)?.next())?.value?.data).toEqual({ content: 'a' });
    expect(turn.lastSeq).toBe(2);
  });

  it('events reach readers when their write is stored; those recorded while it was in flight go in the next', async () => {
    const gates: Array<() => void> = [];
    const { turn, taken } = followedTurn(() => new Promise<void>((resolve) => gates.push(resolve)));
    let release: () => void = () => {};
    const sourceDone = new Promise<void>((resolve) => {
      release = resolve;
    });
    const running = turn.run(
      (async function* (): AsyncGenerator<ChatEvent> {
        yield { type: 'token', content: 'a' };
        yield { type: 'token', content: 'b' };
        yield { type: 'token', content: 'c' };
        await sourceDone;
        yield { type: 'final', content: 'abc', tool_used: false, tools: [], elapsed_ms: 1 };
      })(),
    );
    await new Promise((resolve) => setImmediate(resolve));
    // `a` went out in the first write, still in flight: no reader has it yet.
    expect(taken).toEqual([]);
    expect(gates).toHaveLength(1);
    gates.shift()?.();
    await new Promise((resolve) => setImmediate(resolve));
    // Stored: `a` is shown, and `b` and `c` went out together in the next write.
    expect(taken.map((entry) => entry.seq)).toEqual([1]);
    expect(gates).toHaveLength(1);
    gates.shift()?.();
    await new Promise((resolve) => setImmediate(resolve));
    expect(taken.map((entry) => entry.seq)).toEqual([1, 2, 3]);
    expect(taken.every((entry) => entry.storedBefore)).toBe(true);
    release();
    for (let round = 0; round < 20 && taken.length < 4; round++) {
      for (const gate of gates.splice(0)) gate();
      await new Promise((resolve) => setImmediate(resolve));
    }
    for (const gate of gates.splice(0)) gate();
    await running;
    expect(taken.map((entry) => entry.seq)).toEqual([1, 2, 3, 4]);
  });

  it('lets an event go once the log has it and every reader here took it, not before the starter came', async () => {
    const { turn, open, running } = gatedTurn();
    // Whether memory alone still serves a reader after `seq` (the probe leaves at once).
    const keeps = (seq: number) => {
      const probe = turn.feed(seq);
      probe?.close();
      return probe !== undefined;
    };
    const stored = () => new Promise((resolve) => setTimeout(resolve, 0));
    const other = turn.feed(0);
    if (other === undefined) throw new Error('a new turn has a feed');
    const { seen: otherSeen, take: takeOther } = seqTaker(other);
    await stored();
    takeOther();
    // Stored and taken by the only reader, but the starter has not come: it finds every event.
    expect(otherSeen).toEqual([1]);
    expect(keeps(0)).toBe(true);
    const starter = turn.starterFeed({ paced: false });
    const { seen: starterSeen, take: takeStarter } = seqTaker(starter);
    open(0);
    await stored();
    takeOther();
    // The starter has taken nothing yet: everything stays for it.
    expect(keeps(0)).toBe(true);
    takeStarter();
    expect(starterSeen).toEqual([1, 2]);
    // Both readers took 1 and 2, and the log has them: memory lets them go.
    expect(keeps(0)).toBe(false);
    expect(keeps(1)).toBe(false);
    expect(keeps(2)).toBe(true);
    // A reader that leaves holds nothing back.
    other.close();
    open(1);
    await stored();
    takeStarter();
    expect(keeps(2)).toBe(false);
    open(2);
    await running;
    expect(takeStarter()).toBe(true);
    expect(starterSeen).toEqual([1, 2, 3, 4]);
    expect(turn.feed(0)).toBeUndefined();
    expect(turn.feed(turn.lastSeq)?.drain(() => true)).toBe(true);
  });

  it('keeps what a reader here has not taken, however far behind it is', async () => {
    const { turn, open, running } = gatedTurn();
    const starter = turn.starterFeed({ paced: false });
    const lagging = turn.feed(0);
    for (const gate of [0, 1, 2]) open(gate);
    const seen: number[] = [];
    const drainAll = () => {
      for (;;) {
        const ended = starter.drain((event) => {
          seen.push(event.seq);
          return true;
        });
        if (ended) return;
      }
    };
    await running;
    drainAll();
    expect(seen).toEqual([1, 2, 3, 4]);
    const late: number[] = [];
    lagging?.drain((event) => {
      late.push(event.seq);
      return true;
    });
    expect(late).toEqual([1, 2, 3, 4]);
  });

  it('a turn taken over lets events go as its readers here take them: no starter is waited for', async () => {
    const turn = new RunningTurn({
      ref: { userId: 'u', turnId: TurnLog.newTurnId() },
      log: new TurnLog(new MemoryTurnBackend()),
      runningTtlMs: 10_000,
      resumed: { lastSeq: 5, text: 'before ', tools: [], startedAt: Date.now() },
    });
    const reader = turn.feed(5);
    if (reader === undefined) throw new Error('a taken-over turn serves readers from where it took over');
    const { seen, take } = seqTaker(reader);
    reader.onReady(take);
    await turn.run(
      (async function* (): AsyncGenerator<ChatEvent> {
        yield { type: 'token', content: 'after' };
        await new Promise((resolve) => setTimeout(resolve, 10));
        yield { type: 'final', content: 'before after', tool_used: false, tools: [], elapsed_ms: 1 };
      })(),
    );
    take();
    expect(seen).toEqual([6, 7]);
    // Stored and taken: memory keeps none of it, a later reader here reads the log.
    expect(turn.firstKeptSeq).toBe(8);
    expect(turn.feed(5)).toBeUndefined();
  });
});

describe('RunningTurn taken over by another process', () => {
  it('never shows a reader here an event its write was refused for: a resume from its id misses nothing', async () => {
    const log = new TurnLog(asyncAppendOnly(new MemoryTurnBackend()));
    const ref = { userId: 'u', turnId: TurnLog.newTurnId() };
    const turn = new RunningTurn({ ref, log, runningTtlMs: 60_000, epoch: 1 });
    const seen: number[] = [];
    const feed = turn.starterFeed({ paced: false });
    const pump = () => {
      const ended = feed.drain((event) => {
        seen.push(event.seq);
        return true;
      });
      if (!ended) feed.onReady(pump);
    };
    pump();
    turn.pushToken('a ');
    await vi.waitFor(() => expect(seen).toEqual([1]));
    // Another process claims the turn (this one was paused past its lease); this one writes on.
    const epoch = await log.claim(ref, 60_000);
    turn.pushToken('OLD ');
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(seen).toEqual([1]);
    // The new owner numbers on from what the log holds; a resume from the last id seen gets it all.
    await log.append(ref, [{ seq: 2, event: 'token', data: { content: 'NEW ' } }], 60_000, { epoch });
    expect((await log.read(ref, seen.at(-1) ?? 0)).map((event) => event.data.content)).toEqual(['NEW ']);
  });
});
