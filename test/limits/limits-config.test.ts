import { afterEach, describe, expect, it } from 'vitest';
import { createChatHandler } from '../../src/http/create-chat-handler.js';
import type { LimitsOptions } from '../../src/limits/limits-options.js';
import { memoryStorage } from '../../src/storage.js';
import { jsonRequest, type Stack, startStack } from '../http/stack.js';

let stack: Stack | undefined;

afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

async function expectRefusedAtStartUp(limits: unknown) {
  const storage = memoryStorage();
  try {
    const build = () =>
      createChatHandler({
        authenticate: () => ({ id: 'ann' }),
        models: [{ id: 'fake', provider: 'openai_compatible', baseUrl: 'http://127.0.0.1:9/v1' }],
        storage,
        limits: limits as LimitsOptions,
      });
    expect(build).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  } finally {
    await storage.close();
  }
}

// Each would have failed open (`used >= NaN` is false) or failed every request later.
const bad: [string, unknown][] = [
  ['tokensPerDay NaN', { tokensPerDay: Number.NaN }],
  ['tokensPerMonth NaN', { tokensPerMonth: Number.NaN }],
  ['tokensPerDay negative', { tokensPerDay: -1 }],
  ['tokensPerDay a fraction', { tokensPerDay: 1.5 }],
  ['tokensPerMonth a string', { tokensPerMonth: '1000' }],
  ['tokensPerDay Infinity', { tokensPerDay: Number.POSITIVE_INFINITY }],
  ['requests null', { requests: null }],
  ['requests.limit NaN', { requests: { limit: Number.NaN, windowMs: 60_000 } }],
  ['requests.limit 0', { requests: { limit: 0, windowMs: 60_000 } }],
  ['requests.windowMs not whole seconds', { requests: { limit: 5, windowMs: 1500 } }],
  ['requests.windowMs NaN', { requests: { limit: 5, windowMs: Number.NaN } }],
  ['concurrentStreams 0', { concurrentStreams: 0 }],
  ['concurrentStreams NaN', { concurrentStreams: Number.NaN }],
  ['forRequest not a function', { forRequest: 'tiers' }],
  ['slotTtlMs NaN', { slotTtlMs: Number.NaN }],
  ['slotTtlMs 0', { slotTtlMs: 0 }],
  ['limits a number', 42],
];

describe('limits options are checked', () => {
  it.each(bad)('refuses %s with CONFIG_INVALID at start-up', (_name, limits) => expectRefusedAtStartUp(limits));

  // The hook's answer is checked on the request: a bad one is a 500 the host sees, never a turn
  // let through past the budget it meant to set.
  it.each<[string, unknown]>([
    ['a NaN daily budget', { tokensPerDay: Number.NaN }],
    ['a monthly budget as a string', { tokensPerMonth: '10' }],
    ['a number', 7],
  ])('refuses the request with 500 CONFIG_INVALID when forRequest returns %s', async (_name, chosen) => {
    stack = await startStack({ limits: { forRequest: () => chosen as LimitsOptions } });
    const s = stack;
    expect((await s.handler.fetch(jsonRequest('/connect', 'ann', { llm: { model: 'fake' } }))).status).toBe(200);
    const response = await s.handler.fetch(jsonRequest('/chat', 'ann', { message: 'hi', streaming: false }));
    expect(response.status).toBe(500);
    expect(await response.json()).toMatchObject({ code: 'CONFIG_INVALID' });
    expect(s.llm.requests).toHaveLength(0);
  });
});
