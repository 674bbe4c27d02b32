import { afterEach, describe, expect, it } from 'vitest';
import { askKey } from '../../src/session/session-keys.js';
import { memoryStorage } from '../../src/storage.js';
import { jsonRequest, type Stack, startStack } from '../http/stack.js';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

/** A pending elicitation as the storage holds it, with `schema` as its form. */
function pendingElicitation(id: string, schema: unknown): string {
  return JSON.stringify({
    kind: 'elicitation',
    id,
    userId: 'ann',
    conversationId: '',
    fingerprint: 'f',
    expiresAt: Date.now() + 60_000,
    details: { schema },
  });
}

describe('a pending elicitation whose stored form is junk', () => {
  it('is answered as absent (404), never a 500, whatever the shape', async () => {
    const storage = memoryStorage();
    const errors: string[] = [];
    stack = await startStack({ storage, logger: { error: (message) => errors.push(message) } });
    const forms = [
      {},
      { type: 'object', properties: { a: null } },
      { type: 'object', properties: { a: { type: 'string' } }, required: 5 },
      { type: 'object', properties: { a: { type: 'string', enum: 'abc' } } },
      'a string',
    ];
    for (const [i, form] of forms.entries()) {
      await storage.sessions.set(askKey('ann', 'elicitation', `el${i}`), pendingElicitation(`el${i}`, form), 60_000);
      const response = await stack.handler.fetch(
        jsonRequest('/elicitation', 'ann', { id: `el${i}`, action: 'accept', content: { a: 'b' } }),
      );
      expect([response.status, (await response.json()).code], JSON.stringify(form)).toEqual([
        404,
        'ELICITATION_NOT_FOUND',
      ]);
    }
    expect(errors).toEqual([]);
  });
});
