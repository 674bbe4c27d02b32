import { expect, it } from 'vitest';
import { MemoryMessageBus } from '../../src/bus/memory-message-bus.js';
import { MemoryTurnBackend } from '../../src/turns/memory-turn-backend.js';
import { TurnLog } from '../../src/turns/turn-log.js';
import { TurnManager } from '../../src/turns/turn-manager.js';
import type { ChatEvent } from '../../src/types.js';

// A host's message bus whose publish throws instead of rejecting: announcing a turn's events to
// readers elsewhere is best effort, and must not stop the turn (nor wedge its later writes).
it('a watched turn whose bus throws on publish still records every event and ends', async () => {
  const backend = new MemoryTurnBackend();
  const bus = new MemoryMessageBus();
  const publish = bus.publish.bind(bus);
  bus.publish = (channel, message) => {
    if (channel.includes('turnbus01')) throw new Error('bus down');
    return publish(channel, message);
  };
  const manager = new TurnManager({ log: new TurnLog(backend), bus, turnTimeoutMs: 60_000 });
  try {
    const turn = await manager.start({
      userId: 'u',
      turnId: 'turnbus01',
      source: async function* (): AsyncGenerator<ChatEvent> {
        yield { type: 'token', content: 'a' };
        // A reader on another process asks to follow: every stored batch is announced from now on.
        turn.watch();
        yield { type: 'token', content: 'b' };
        yield { type: 'token', content: 'c' };
        yield { type: 'final', content: 'abc', tool_used: false, tools: [], elapsed_ms: 0 };
      },
    });
    await turn.stored;
    const events = await new TurnLog(backend).read({ userId: 'u', turnId: 'turnbus01' }, 0);
    expect(events.map((event) => event.event)).toEqual(['token', 'token', 'token', 'final']);
    expect(manager.local('turnbus01')).toBeUndefined();
  } finally {
    await manager.close();
  }
});
