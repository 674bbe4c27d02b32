import { describe, expect, it } from 'vitest';
import { MemoryMessageBus } from '../../src/bus/memory-message-bus.js';
import { MemoryTurnBackend } from '../../src/turns/memory-turn-backend.js';
import { RunningTurn } from '../../src/turns/running-turn.js';
import { TurnLog } from '../../src/turns/turn-log.js';
import { TurnManager } from '../../src/turns/turn-manager.js';
import type { ChatEvent } from '../../src/types.js';

function newTurn() {
  const log = new TurnLog(new MemoryTurnBackend());
  const ref = { userId: 'u', turnId: TurnLog.newTurnId() };
  return { turn: new RunningTurn({ ref, log, runningTtlMs: 10_000 }), log, ref };
}

// The chat loop hands tokens to the running turn directly (`onToken`) and yields the rest: the
// turn must record both in the order they happened, as one sequence.
describe('RunningTurn.pushToken', () => {
  it('records pushed tokens among the yielded events, in order, for readers and the log', async () => {
    const { turn, log, ref } = newTurn();
    const reader = turn.starterFeed({ paced: false });
    await turn.run(
      (async function* (): AsyncGenerator<ChatEvent> {
        expect(turn.pushToken('Hel')).toBeUndefined();
        turn.pushToken('lo');
        yield { type: 'tool_start', id: 'c1', tool: 'add', input: {}, start: new Date(0).toISOString() };
        turn.pushToken('!');
        yield { type: 'final', content: 'Hello!', tool_used: true, tools: ['add'], elapsed_ms: 1 };
      })(),
    );
    const seen: string[] = [];
    reader.drain((event) => {
      seen.push(`${event.seq} ${event.event} ${String(event.data.content ?? '')}`);
      return true;
    });
    expect(seen).toEqual(['1 token Hel', '2 token lo', '3 tool_start ', '4 token !', '5 final Hello!']);
    expect((await log.read(ref, 0)).map((event) => `${event.seq} ${event.event}`)).toEqual([
      '1 token',
      '2 token',
      '3 tool_start',
      '4 token',
      '5 final',
    ]);
  });

  it('records nothing once the turn has ended', async () => {
    const { turn, log, ref } = newTurn();
    await turn.run(
      (async function* (): AsyncGenerator<ChatEvent> {
        yield { type: 'final', content: '', tool_used: false, tools: [], elapsed_ms: 1 };
      })(),
    );
    expect(turn.pushToken('late')).toBeUndefined();
    expect((await log.read(ref, 0)).map((event) => event.event)).toEqual(['final']);
  });

  it('holds the chat loop while the paced starter is too far behind, and lets it go once it reads', async () => {
    const { turn } = newTurn();
    const starter = turn.starterFeed({ paced: true });
    const big = 'x'.repeat(40_000);
    let held: Promise<void> | undefined;
    let released = false;
    const running = turn.run(
      (async function* (): AsyncGenerator<ChatEvent> {
        expect(turn.pushToken(big)).toBeUndefined();
        // 80,000 characters ahead of a reader that took nothing: past the 64 K the rule allows.
        held = turn.pushToken(big);
        expect(held).toBeInstanceOf(Promise);
        await held;
        released = true;
        yield { type: 'final', content: big + big, tool_used: false, tools: [], elapsed_ms: 1 };
      })(),
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(released).toBe(false);
    const taken: string[] = [];
    const take = (event: { event: string }) => {
      taken.push(event.event);
      return true;
    };
    // Reading the tokens lets the loop go on; reading on after that gets its last event.
    const follow = () => {
      if (!starter.drain(take)) starter.onReady(follow);
    };
    follow();
    await running;
    expect(released).toBe(true);
    expect(taken).toEqual(['token', 'token', 'final']);
  });
});

// The handler's chat loop gets the turn's sink from the manager: what it hands over is recorded
// as the turn's own tokens.
it('TurnManager gives the source a sink that records tokens into the turn', async () => {
  const backend = new MemoryTurnBackend();
  const manager = new TurnManager({ log: new TurnLog(backend), bus: new MemoryMessageBus(), turnTimeoutMs: 10_000 });
  const turn = await manager.start({
    userId: 'u',
    message: 'hi',
    source: async function* (_signal, onToken): AsyncGenerator<ChatEvent> {
      onToken('a');
      yield { type: 'tool_start', id: 'c1', tool: 'add', input: {}, start: new Date(0).toISOString() };
      onToken('b');
      yield { type: 'final', content: 'ab', tool_used: true, tools: ['add'], elapsed_ms: 1 };
    },
  });
  const seen: string[] = [];
  const starter = turn.starterFeed({ paced: false });
  await new Promise<void>((resolve) => {
    const follow = () => {
      const ended = starter.drain((event) => {
        seen.push(`${event.event} ${String(event.data.content ?? '')}`);
        return true;
      });
      if (ended) resolve();
      else starter.onReady(follow);
    };
    follow();
  });
  expect(seen).toEqual(['token a', 'tool_start ', 'token b', 'final ab']);
});
