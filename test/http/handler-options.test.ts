import { afterEach, describe, expect, it } from 'vitest';
import type { ChatHandlerOptions } from '../../src/http/chat-handler-options.js';
import { createChatHandler } from '../../src/http/create-chat-handler.js';
import { memoryStorage } from '../../src/storage.js';
import { jsonRequest, type Stack, startStack } from './stack.js';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

const base: ChatHandlerOptions = { authenticate: () => ({ id: 'ann' }), models: [] };

describe('createChatHandler options', () => {
  // Each of these used to be accepted and to fail later, in the middle of a turn (where
  // keepAliveMs: -1 answered 500 to every streamed chat and kept the user's lock).
  const bad: Array<[string, Partial<ChatHandlerOptions>]> = [
    ['keepAliveMs -1', { keepAliveMs: -1 }],
    ['keepAliveMs NaN', { keepAliveMs: Number.NaN }],
    ['turnTimeoutMs 0', { turnTimeoutMs: 0 }],
    ['turnTimeoutMs beyond a timer', { turnTimeoutMs: 2 ** 31 }],
    ['lockTtlMs as a string', { lockTtlMs: '30000' as never }],
    ['turnQueueTimeoutMs -5', { turnQueueTimeoutMs: -5 }],
    ['turnPolicy unknown', { turnPolicy: 'wait' as never }],
    ['maxBodyBytes 0', { maxBodyBytes: 0 }],
    ['maxBodyBytes 1.5', { maxBodyBytes: 1.5 }],
    ['maxHistoryTurns 0', { maxHistoryTurns: 0 }],
    ['maxToolRounds -1', { maxToolRounds: -1 }],
    ['sessionTtlMs Infinity', { sessionTtlMs: Number.POSITIVE_INFINITY }],
    ['connections.max 0', { connections: { max: 0 } }],
    ['connections.idleMs -1', { connections: { idleMs: -1 } }],
    ['mcp.toolTimeoutMs 0', { mcp: { toolTimeoutMs: 0 } }],
    ['mcp.maxResultChars -1', { mcp: { maxResultChars: -1 } }],
    ['llm.totalTimeoutMs -1', { llm: { totalTimeoutMs: -1 } }],
    ['llm.maxRetries 0.5', { llm: { maxRetries: 0.5 } }],
    ['serverAuth not a function', { serverAuth: 'yes' as never }],
    ['basePath not a string', { basePath: 7 as never }],
    ['storage not a storage', { storage: {} as never }],
  ];
  it.each(bad)('refuses %s with CONFIG_INVALID at start-up', (_name, override) => {
    expect(() => createChatHandler({ ...base, ...override })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
  });

  it('accepts the edge values that are meaningful (0 disables keep-alives and queue waits)', async () => {
    const handler = createChatHandler({ ...base, keepAliveMs: 0, turnQueueTimeoutMs: 0, maxToolRounds: 0 });
    await handler.close();
  });
});

describe('the turn lock after a failure', () => {
  it('is released when building the live session throws after the lock was taken', async () => {
    stack = await startStack();
    const storage = memoryStorage();
    let failOnce = true;
    const second = createChatHandler({
      ...stack.options,
      storage,
      serverAuth: () => {
        if (failOnce) {
          failOnce = false;
          throw new Error('token service down');
        }
        return undefined;
      },
    });
    const first = createChatHandler({ ...stack.options, storage });
    try {
      expect((await first.fetch(jsonRequest('/connect', 'ann', { llm: { model: 'fake' } }))).status).toBe(200);
      // `second` has no live connection yet: it builds one under the lock, and that throws.
      const failed = await second.fetch(jsonRequest('/chat', 'ann', { message: 'hi', streaming: true }));
      expect(failed.status).toBe(500);
      const next = await second.fetch(jsonRequest('/chat', 'ann', { message: 'hi' }));
      expect([next.status, (await next.json()).response]).toEqual([200, 'Hello from the fake.']);
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });
});
