import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { MemoryMessageBus } from '../../src/bus/memory-message-bus.js';
import { createChatHandler } from '../../src/http/create-chat-handler.js';
import { type ChatStorage, memoryStorage } from '../../src/storage.js';
import { jsonRequest, type Stack, startStack } from './stack.js';

// Two handlers over one storage stand for two processes: a /disconnect on one must close the
// MCP sessions the other holds for that user, not leave them to the idle timeout.
describe('a disconnect reaches every handler sharing the storage', () => {
  let storage: ChatStorage;
  let stack: Stack;
  let other: ReturnType<typeof createChatHandler>;

  beforeAll(async () => {
    storage = memoryStorage();
    stack = await startStack({ storage, connections: { idleMs: 3_600_000 } });
    other = createChatHandler({ ...stack.options, storage });
  });

  afterAll(async () => {
    await other?.close();
    await stack?.close();
    await storage?.close();
  });

  it('closes the user’s MCP sessions on the other handler, and only that user’s', async () => {
    for (const user of ['leaver', 'stayer']) {
      expect((await stack.handler.fetch(jsonRequest('/connect', user, { llm: { model: 'fake' } }))).status).toBe(200);
      // A tool call opens the user's MCP session on the handler running it (connect holds none).
      for (const handler of [stack.handler, other]) {
        const chat = await handler.fetch(jsonRequest('/chat', user, { message: 'add 2 and 3', streaming: false }));
        expect((await chat.json()).tool_used).toBe(true);
      }
    }
    // One MCP session per user on each handler.
    expect(stack.mcp.sessionCount).toBe(4);

    const bye = await stack.handler.fetch(jsonRequest('/disconnect', 'leaver', {}));
    expect((await bye.json()).status).toBe('disconnected');
    await vi.waitFor(() => expect(stack.mcp.sessionCount).toBe(2), { timeout: 5000, interval: 20 });

    // The other user still chats on the other handler over its cached session.
    const created = stack.mcp.stats.sessionsCreated;
    expect(
      (await other.fetch(jsonRequest('/chat', 'stayer', { message: 'add 1 and 1', streaming: false }))).status,
    ).toBe(200);
    expect(stack.mcp.stats.sessionsCreated).toBe(created);
  });

  it('stops following the bus when a handler closes', async () => {
    const bus = storage.bus as MemoryMessageBus;
    // The disconnect channel, and the stop channels of the two handlers that ran turns.
    expect(bus.channelCount).toBe(3);
    const third = createChatHandler({ ...stack.options, storage });
    await third.close();
    await other.close();
    await stack.handler.close();
    expect(bus.channelCount).toBe(0);
  });
});
