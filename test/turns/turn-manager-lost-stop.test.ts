import { afterEach, expect, it } from 'vitest';
import { MemoryMessageBus } from '../../src/bus/memory-message-bus.js';
import { MemoryTurnBackend } from '../../src/turns/memory-turn-backend.js';
import { TurnLog } from '../../src/turns/turn-log.js';
import { TurnManager } from '../../src/turns/turn-manager.js';
import type { ChatEvent } from '../../src/types.js';

// A stop asked on one process reaches the process running the turn as a bus message, which the
// bus may lose (a Redis subscriber that reconnects drops what was published meanwhile). The stop
// is marked in storage first, and the running process reads the marks of its long turns: the
// turn still stops, a read interval later, instead of running on after `/stop` said "stopped".

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/**
 * A bus whose messages go through `rule` first: it returns `'deliver'`, `'lose'` (the message
 * vanishes) or throws (the publish is refused).
 */
function busWith(rule: (channel: string, message: string) => 'deliver' | 'lose'): MemoryMessageBus {
  const bus = new MemoryMessageBus();
  const publish = bus.publish.bind(bus);
  bus.publish = async (channel, message) => {
    if (rule(channel, message) === 'lose') return;
    await publish(channel, message);
  };
  return bus;
}

/** Two processes (managers) sharing one memory log and `bus`, closed after the test. */
function twoProcesses(bus: MemoryMessageBus, recheckMs: number) {
  const backend = new MemoryTurnBackend();
  const options = { bus, turnTimeoutMs: 60_000, recheckMs };
  const here = new TurnManager({ log: new TurnLog(backend), ...options });
  const elsewhere = new TurnManager({ log: new TurnLog(backend), ...options });
  closers.push(
    () => here.close(),
    () => elsewhere.close(),
  );
  return { backend, here, elsewhere };
}

const isControl = (channel: string) => channel.startsWith('turn-control:');

it('stops a turn whose stop message the bus lost, from its mark in storage', async () => {
  const { backend, here, elsewhere } = twoProcesses(
    busWith((channel) => (isControl(channel) ? 'lose' : 'deliver')),
    100,
  );
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  closers.push(async () => finish());
  const turn = await here.start({
    userId: 'u',
    turnId: 'turnlost01',
    source: async function* (signal, onToken): AsyncGenerator<ChatEvent> {
      onToken('partial ');
      // Runs until stopped (or until the test gives up on it).
      await Promise.race([finished, new Promise((resolve) => signal.addEventListener('abort', resolve))]);
      signal.throwIfAborted();
      yield { type: 'final', content: 'partial and the rest', tool_used: false, tools: [], elapsed_ms: 0 };
    },
  });
  const started = performance.now();
  // Asked elsewhere: the message is lost, the mark stays.
  const outcome = await elsewhere.stop('u', undefined);
  expect(outcome).toEqual({ status: 'stopped', turnId: 'turnlost01' });
  await turn.stored;
  const events = await new TurnLog(backend).read({ userId: 'u', turnId: 'turnlost01' }, 0);
  const last = events.at(-1);
  expect(last?.event).toBe('final');
  expect(last?.data).toMatchObject({ stopped: true, content: 'partial ' });
  // Within a few read intervals, not at the 5 s the stop waits at most.
  expect(performance.now() - started).toBeLessThan(3_000);
});

it('reads the marks of turns running longer than the interval only', async () => {
  const backend = new MemoryTurnBackend();
  const log = new TurnLog(backend);
  const reads: string[] = [];
  const isStopRequested = log.isStopRequested.bind(log);
  log.isStopRequested = (ref) => {
    reads.push(ref.turnId);
    return isStopRequested(ref);
  };
  const here = new TurnManager({ log, bus: new MemoryMessageBus(), turnTimeoutMs: 60_000, recheckMs: 100 });
  closers.push(() => here.close());
  const runFor = (ms: number) =>
    async function* (): AsyncGenerator<ChatEvent> {
      await new Promise((resolve) => setTimeout(resolve, ms));
      yield { type: 'final', content: 'done', tool_used: false, tools: [], elapsed_ms: 0 };
    };
  const long = await here.start({ userId: 'u', turnId: 'turnlong01', source: runFor(450) });
  await new Promise((resolve) => setTimeout(resolve, 150));
  // Started between two reads and over before it is 100 ms old: never read.
  const short = await here.start({ userId: 'v', turnId: 'turnshort1', source: runFor(80) });
  await Promise.all([long.stored, short.stored]);
  expect(reads).toContain('turnlong01');
  expect(reads).not.toContain('turnshort1');
  // Nothing runs: no more reads.
  const count = reads.length;
  await new Promise((resolve) => setTimeout(resolve, 250));
  expect(reads).toHaveLength(count);
});

/** A turn on `here` that sends a token every 20 ms for `tokens` tokens, then ends. */
function tokenTurn(here: TurnManager, turnId: string, tokens: number) {
  return here.start({
    userId: 'u',
    turnId,
    source: async function* (signal, onToken): AsyncGenerator<ChatEvent> {
      for (let i = 0; i < tokens; i++) {
        signal.throwIfAborted();
        onToken(`t${i} `);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      yield { type: 'final', content: 'done', tool_used: false, tools: [], elapsed_ms: 0 };
    },
  });
}

it('asks the running process again to announce when its first request was lost, so the reader streams', async () => {
  let watchesLost = 0;
  let announced = 0;
  const bus = busWith((channel, message) => {
    if (isControl(channel) && message.includes('"watch"') && watchesLost === 0) {
      watchesLost += 1;
      return 'lose';
    }
    if (channel.includes('turn-events:')) announced += 1;
    return 'deliver';
  });
  const { here, elsewhere } = twoProcesses(bus, 200);
  const turn = await tokenTurn(here, 'turnwatch1', 50);
  const seen: string[] = [];
  for await (const event of elsewhere.read({ userId: 'u', turnId: 'turnwatch1' }, 0)) seen.push(event.event);
  await turn.stored;
  expect(watchesLost).toBe(1);
  expect(seen.at(-1)).toBe('final');
  expect(seen.filter((event) => event === 'token')).toHaveLength(50);
  // Asked again after the first quiet spell: the rest of the turn came over the bus.
  expect(announced).toBeGreaterThan(0);
});

it('stops and follows a turn on another process when the bus refuses control messages', async () => {
  const bus = busWith((channel) => {
    if (isControl(channel)) throw new Error('refused');
    return 'deliver';
  });
  const { here, elsewhere } = twoProcesses(bus, 100);
  const turn = await tokenTurn(here, 'turnrefus1', 500);
  const reading = (async () => {
    const seen: Array<{ event: string; data: unknown }> = [];
    for await (const event of elsewhere.read({ userId: 'u', turnId: 'turnrefus1' }, 0)) seen.push(event);
    return seen;
  })();
  await new Promise((resolve) => setTimeout(resolve, 150));
  // The stop is marked in storage: refused on the bus, it still lands (from the mark).
  expect(await elsewhere.stop('u', undefined)).toEqual({ status: 'stopped', turnId: 'turnrefus1' });
  await turn.stored;
  const seen = await reading;
  expect(seen.at(-1)).toMatchObject({ event: 'final', data: { stopped: true } });
});

it("stops a local turn for a delete even when the delete's mark cannot be written", async () => {
  const { backend, here } = twoProcesses(
    busWith(() => 'deliver'),
    100,
  );
  const log = new TurnLog(backend);
  const turn = await tokenTurn(here, 'turnmark01', 500);
  here.log.requestStop = async () => {
    throw new Error('storage down');
  };
  expect(await here.stop('u', undefined, undefined, { deleting: true })).toEqual({
    status: 'stopped',
    turnId: 'turnmark01',
  });
  await turn.stored;
  expect((await log.read({ userId: 'u', turnId: 'turnmark01' }, 0)).at(-1)).toMatchObject({
    event: 'final',
    data: { stopped: true },
  });
});

it("keeps a delete's mark when a plain stop comes after it", async () => {
  const log = new TurnLog(new MemoryTurnBackend());
  const ref = { userId: 'u', turnId: 'turnmark02' };
  await log.requestStop(ref, 60_000, { deleting: true });
  await log.requestStop(ref, 60_000);
  expect(await log.isDeleted(ref)).toBe(true);
  const plain = { userId: 'u', turnId: 'turnmark03' };
  await log.requestStop(plain, 60_000);
  expect(await log.isStopRequested(plain)).toBe(true);
  expect(await log.isDeleted(plain)).toBe(false);
});
