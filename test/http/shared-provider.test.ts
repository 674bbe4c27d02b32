import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ModelRegistry } from '../../src/llm/model-registry.js';
import { jsonRequest, type Stack, startStack } from './stack.js';

// A provider keeps nothing of a session or a user, so a handler makes one per model: a reconnect
// (which drops the live session) or another user's first turn builds no new provider.
describe('one provider per model for the handler', () => {
  let stack: Stack;
  const created = vi.spyOn(ModelRegistry.prototype, 'createProvider');

  beforeAll(async () => {
    stack = await startStack();
  });

  afterAll(async () => {
    await stack?.close();
    created.mockRestore();
  });

  const connect = async (user: string) => {
    const answer = await stack.handler.fetch(jsonRequest('/connect', user, { llm: { model: 'fake' } }));
    expect(answer.status).toBe(200);
  };
  const chat = async (user: string) => {
    const answer = await stack.handler.fetch(jsonRequest('/chat', user, { message: 'hello', streaming: false }));
    expect(answer.status).toBe(200);
    expect(((await answer.json()) as { response: string }).response).toBe('Hello from the fake.');
  };

  it('builds the provider on the first turn only, across reconnects and users', async () => {
    created.mockClear();
    await connect('first');
    await chat('first');
    expect(created).toHaveBeenCalledTimes(1);
    expect(created).toHaveBeenLastCalledWith('fake', expect.anything());

    await connect('first'); // drops this process's live session of the old version
    await chat('first');
    await connect('second');
    await chat('second');
    await chat('second');
    expect(created).toHaveBeenCalledTimes(1);
  });
});
