import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseQueryTime } from '../../src/conversations/query-time.js';
import { jsonRequest, type Stack, startStack } from '../http/stack.js';

// `before` of GET /conversations and GET /history: an ISO-8601 date-time (what `updated_at` and
// `at` are) or whole milliseconds since the epoch, nothing V8's lenient Date.parse would guess.

const REFUSED = [
  '-1',
  '-0',
  'foo 12',
  '12abc',
  '%00',
  '1e3',
  '0x10',
  ' 5',
  'Tue Mar 1 2099',
  '2024-01-01', // a date without a time
  '2024-01-01T00:00:00', // no zone: local time, so a different instant on each server
  '2024-02-30T00:00:00Z', // V8 reads March 1st
  '2023-02-29T00:00:00Z',
  '2024-01-01T24:00:00Z',
  '2024-01-01T00:00:00+24:00',
  '2024-01-01 00:00:00Z',
  '+275760-09-13T00:00:00.000Z',
  '8640000000000001',
];

describe('parseQueryTime', () => {
  it('reads ISO-8601 date-times and whole milliseconds, and nothing else', () => {
    const now = new Date();
    expect(parseQueryTime(now.toISOString())).toBe(now.getTime());
    expect(parseQueryTime('2026-11-30T10:00:01.200Z')).toBe(Date.UTC(2026, 10, 30, 10, 0, 1, 200));
    expect(parseQueryTime('2026-11-30T11:00+01:00')).toBe(Date.UTC(2026, 10, 30, 10, 0));
    expect(parseQueryTime('2024-02-29T00:00:00Z')).toBe(Date.UTC(2024, 1, 29));
    expect(parseQueryTime('0')).toBe(0);
    expect(parseQueryTime('2024')).toBe(2024);
    expect(parseQueryTime('8640000000000000')).toBe(8.64e15);
    for (const value of REFUSED) expect(parseQueryTime(value), value).toBeUndefined();
  });
});

describe('before on the paging routes', () => {
  let stack: Stack;
  const user = `u-${randomUUID()}`;
  beforeAll(async () => {
    stack = await startStack();
    await stack.handler.fetch(jsonRequest('/connect', user, { llm: { model: 'fake' } }));
    await stack.handler.fetch(jsonRequest('/chat', user, { message: 'hello', conversation_id: 'c1' }));
  });
  afterAll(() => stack.close());

  const paths = [`/conversations/${user}?before=`, `/history/${user}?conversation_id=c1&before=`];

  it('answers 422 VALIDATION_FAILED on both routes to a before that is not a time, and pages by one that is', async () => {
    for (const value of REFUSED) {
      for (const path of paths) {
        const response = await stack.handler.fetch(jsonRequest(path + encodeURIComponent(value), user));
        expect(response.status, `${path}${value}`).toBe(422);
        expect(await response.json()).toMatchObject({
          code: 'VALIDATION_FAILED',
          detail: expect.stringMatching(/^before:/),
        });
      }
    }
    const later = new Date(Date.now() + 60_000);
    for (const value of [later.toISOString(), String(later.getTime())]) {
      const [conversations, history] = await Promise.all(
        paths.map(async (path) =>
          (await stack.handler.fetch(jsonRequest(path + encodeURIComponent(value), user))).json(),
        ),
      );
      expect(conversations.conversations.map((entry: { conversation_id: string }) => entry.conversation_id)).toEqual([
        'c1',
      ]);
      expect(history.messages).toHaveLength(2);
    }
  });
});
