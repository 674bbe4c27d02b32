import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createChatHandler } from '../../src/http/create-chat-handler.js';
import { memoryStorage } from '../../src/storage.js';
import { jsonRequest, type Stack, startStack } from './stack.js';

// memoryStorage's key cap used to evict the oldest sessions without a word: a flood of new users
// silently disconnected the existing ones.
let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack.close();
});

describe('memoryStorage when full', () => {
  it('refuses the newcomer with a clear 503 and keeps everyone else connected, with a warning', async () => {
    const warn = vi.fn();
    // A connected user who chatted holds three keys: session, marker, history; the tool list
    // their server listed is one more key, shared by both.
    const handler = createChatHandler({
      ...stack.options,
      storage: memoryStorage({ maxEntries: 7, logger: { warn } }),
    });
    try {
      for (const user of ['first', 'second']) {
        expect((await handler.fetch(jsonRequest('/connect', user, { llm: { model: 'fake' } }))).status).toBe(200);
        expect((await handler.fetch(jsonRequest('/chat', user, { message: 'hello' }))).status).toBe(200);
      }
      const refused = await handler.fetch(jsonRequest('/connect', 'third', { llm: { model: 'fake' } }));
      expect(refused.status).toBe(503);
      expect(await refused.json()).toEqual({
        detail: 'Session storage is full. Please try again later.',
        code: 'BACKEND_UNAVAILABLE',
      });
      expect(warn).toHaveBeenCalledWith('Memory session storage is full; a new key was refused.', { maxEntries: 7 });
      for (const user of ['first', 'second']) {
        const chat = await handler.fetch(jsonRequest('/chat', user, { message: 'hello' }));
        expect([user, chat.status]).toEqual([user, 200]);
      }
      const third = await (await handler.fetch(jsonRequest('/status/third', 'third'))).json();
      expect(third.connected).toBe(false);
    } finally {
      await handler.close();
    }
  });
});
