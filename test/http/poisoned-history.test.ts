import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createChatHandler } from '../../src/http/create-chat-handler.js';
import { sessionKeys } from '../../src/session/session-keys.js';
import { memoryStorage } from '../../src/storage.js';
import type { RecordedRequest } from '../fixtures/fake-llm-common.js';
import { jsonRequest, type Stack, smartReply, startStack } from './stack.js';

// One schema-valid but orphan tool result in the stored history used to make every later turn
// fail with the provider's 400 until the user reconnected.
let stack: Stack;

/** What OpenAI answers to a tool message that answers no preceding tool call. */
function refusesBadTranscripts(request: RecordedRequest) {
  const messages = (request.body?.messages ?? []) as Array<{
    role: string;
    tool_call_id?: string;
    tool_calls?: Array<{ id: string }>;
  }>;
  const open = new Set<string>();
  for (const message of messages) {
    if (message.role === 'tool') {
      if (!open.delete(message.tool_call_id ?? '')) {
        return {
          kind: 'http_error' as const,
          status: 400,
          message:
            "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.",
        };
      }
    } else {
      if (open.size > 0) {
        return {
          kind: 'http_error' as const,
          status: 400,
          message:
            "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'.",
        };
      }
      for (const call of message.tool_calls ?? []) open.add(call.id);
    }
  }
  return smartReply(request);
}

beforeAll(async () => {
  stack = await startStack();
  stack.llm.reply(refusesBadTranscripts);
});
afterAll(async () => {
  await stack.close();
});

describe('a poisoned history', () => {
  it.each([
    ['an orphan tool result', [{ role: 'tool', toolCallId: 'call_gone', name: 'add', content: '5' }]],
    [
      'a tool call that never got its result',
      [
        { role: 'user', content: 'add 1 and 1' },
        { role: 'assistant', content: '', toolCalls: [{ id: 'call_open', name: 'add', arguments: { a: 1, b: 1 } }] },
      ],
    ],
  ])('with %s is repaired on read, logged, and the turn is answered', async (_name, entry) => {
    const storage = memoryStorage();
    const warn = vi.fn();
    const handler = createChatHandler({ ...stack.options, storage, logger: { warn } });
    const user = `poisoned-${_name}`.replace(/\W+/g, '-');
    try {
      expect((await handler.fetch(jsonRequest('/connect', user, { llm: { model: 'fake' } }))).status).toBe(200);
      await storage.sessions.appendToList(sessionKeys(user).history, [JSON.stringify(entry)], { ttlMs: 60_000 });
      for (const streaming of [false, true]) {
        const response = await handler.fetch(jsonRequest('/chat', user, { message: 'hello', streaming }));
        const text = await response.text();
        expect(text).toContain('Hello from the fake.');
        expect(text).not.toContain('"error"');
      }
      expect(warn).toHaveBeenCalledWith('Repaired a chat history that providers would refuse.', expect.any(Object));
    } finally {
      await handler.close();
    }
  });
});
