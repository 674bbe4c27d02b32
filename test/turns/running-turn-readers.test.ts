import { describe, expect, it } from 'vitest';
import { MemoryTurnBackend } from '../../src/turns/memory-turn-backend.js';
import { RunningTurn } from '../../src/turns/running-turn.js';
import { TurnLog } from '../../src/turns/turn-log.js';
import type { ChatEvent } from '../../src/types.js';

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

  it('readers parked together are each woken for each event, again and again', async () => {
    const { turn, open, running } = gatedTurn();
    const readers = [turn.events(0), turn.events(0), turn.pacedEvents()];
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
});
