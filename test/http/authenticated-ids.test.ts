import { describe, expect, it } from 'vitest';
import { jsonRequest, startStack } from './stack.js';

describe('the id authenticate returns', () => {
  it('is refused with 401 when it is not well-formed Unicode, never a 500', async () => {
    const errors: string[] = [];
    const stack = await startStack({
      // A lone surrogate, as an id taken from a claim the user shaped may hold.
      authenticate: async () => ({ id: 'a\uD800b' }),
      logger: { error: (message) => errors.push(message) },
    });
    try {
      for (const request of [
        jsonRequest('/connect', null, { llm: { model: 'fake' } }),
        jsonRequest('/chat', null, { message: 'hi' }),
        jsonRequest('/disconnect', null, {}),
        jsonRequest('/status/a', null),
        jsonRequest('/conversations/a', null),
      ]) {
        const response = await stack.handler.fetch(request);
        expect(response.status, request.url).toBe(401);
        expect((await response.json()).code).toBe('UNAUTHORIZED');
      }
      expect(errors).toEqual([]);
    } finally {
      await stack.close();
    }
  });
});
