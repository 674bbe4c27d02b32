import { expect, it, vi } from 'vitest';
import { MemoryMessageBus } from '../../src/bus/memory-message-bus.js';
import { MemoryTurnBackend } from '../../src/turns/memory-turn-backend.js';
import { TurnLog } from '../../src/turns/turn-log.js';
import { TurnManager } from '../../src/turns/turn-manager.js';
import type { ChatEvent } from '../../src/types.js';

// A chat loop that throws as it is made (a provider that fails to build its request) is a turn
// that failed, not one left registered with nothing to end it: the conversation's next turn
// must not find it still running.
it('a source that throws synchronously ends its turn with an error, and the next turn starts', async () => {
  const backend = new MemoryTurnBackend();
  const manager = new TurnManager({ log: new TurnLog(backend), bus: new MemoryMessageBus(), turnTimeoutMs: 60_000 });
  const onEnded = vi.fn();
  try {
    const turn = await manager.start({
      userId: 'u',
      turnId: 'turnthrows1',
      source: () => {
        throw new Error('provider constructor failed');
      },
      onEnded,
    });
    await turn.stored;

    const events = await manager.log.read(turn.ref, 0);
    expect(events.map((event) => event.event)).toEqual(['error']);
    expect(events[0]?.data).toMatchObject({ code: 'INTERNAL', recoverable: false });
    // Ended as any turn does: unregistered, its lock let go, recorded as over.
    expect(manager.local('turnthrows1')).toBeUndefined();
    expect(onEnded).toHaveBeenCalledOnce();
    expect(await manager.log.getLatest('u')).toMatchObject({ turnId: 'turnthrows1', ended: true });

    const next = await manager.start({
      userId: 'u',
      turnId: 'turnnext001',
      source: async function* (): AsyncGenerator<ChatEvent> {
        yield { type: 'final', content: 'ok', tool_used: false, tools: [], elapsed_ms: 0 };
      },
    });
    await next.stored;
    expect((await manager.log.read(next.ref, 0)).map((event) => event.event)).toEqual(['final']);
  } finally {
    await manager.close();
    await backend.close();
  }
});
