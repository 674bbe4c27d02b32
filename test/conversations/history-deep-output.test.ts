import { afterEach, describe, expect, it } from 'vitest';
import type { RecordedRequest } from '../fixtures/fake-llm-common.js';
import { jsonRequest, type Stack, startStack } from '../http/stack.js';

// A tool's text that parses as JSON nested far deeper than any stored value may be: 18,000
// characters, well under `maxResultChars`.
const DEEP = '['.repeat(9000) + ']'.repeat(9000);

describe('GET /history with a deeply nested tool output', () => {
  let stack: Stack | undefined;
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  it('answers 200 with the output as text, on every read', async () => {
    stack = await startStack();
    // The model has the `echo` tool say the deep text back, then answers.
    stack.llm.reply((request: RecordedRequest) => {
      const last = (request.body?.messages as Array<{ role: string }> | undefined)?.at(-1);
      return last?.role === 'tool'
        ? { kind: 'text', chunks: ['done'] }
        : { kind: 'tool_calls', calls: [{ name: 'echo', arguments: { message: DEEP } }] };
    });
    const user = 'deep-output-user';
    expect((await stack.handler.fetch(jsonRequest('/connect', user, { llm: { model: 'fake' } }))).status).toBe(200);
    const chat = await stack.handler.fetch(jsonRequest('/chat', user, { message: 'echo it', conversation_id: 'c1' }));
    expect((await chat.json()).response).toBe('done');

    for (let read = 0; read < 2; read++) {
      const history = await stack.handler.fetch(jsonRequest(`/history/${user}?conversation_id=c1`, user));
      expect(history.status).toBe(200);
      const [, answer] = (await history.json()).messages;
      expect(answer.tool_calls).toEqual([
        { id: expect.any(String), tool: 'echo', input: { message: DEEP }, output: DEEP },
      ]);
    }
  });
});
