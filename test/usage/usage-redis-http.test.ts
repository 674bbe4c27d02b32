import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { redisStorage } from '../../src/redis/redis-storage.js';
import { deletePrefix, REDIS_URL, requireRedis } from '../fixtures/shared-redis.js';
import { jsonRequest, type Stack, startStack } from '../http/stack.js';

const PREFIX = `llmchat-test:usage-http:${randomUUID()}:`;
const available = await requireRedis('Usage and budgets over HTTP on Redis');
const redis = new Redis(REDIS_URL);
const stacks: Stack[] = [];

afterAll(async () => {
  await Promise.all(stacks.map((stack) => stack.close()));
  await deletePrefix(redis, PREFIX);
  await redis.quit();
});

describe.skipIf(!available)('usage and budgets on Redis, two handlers', () => {
  it('adds both handlers’ turns to one ledger and enforces one daily budget across them', async () => {
    const options = { storage: redisStorage(redis, { keyPrefix: PREFIX }), limits: { tokensPerDay: 20 } };
    const a = await startStack(options);
    // One app on two processes: the same MCP server and model (a stored server the host does not
    // allow is refused on every use).
    const b = await startStack({ ...options, mcp: a.options.mcp, models: a.options.models });
    stacks.push(a, b);
    const chat = (stack: Stack) =>
      stack.handler.fetch(jsonRequest('/chat', 'erin', { message: 'hi', streaming: false }));
    const used = async () => (await b.handler.usage?.tokensUsed('erin'))?.day;
    // The session is in Redis: connect on A, chat on both.
    expect((await a.handler.fetch(jsonRequest('/connect', 'erin', { llm: { model: 'fake' } }))).status).toBe(200);
    expect((await chat(a)).status).toBe(200);
    await vi.waitFor(async () => expect(await used()).toBe(15));
    expect((await chat(b)).status).toBe(200);
    await vi.waitFor(async () => expect(await used()).toBe(30));
    const refused = await chat(a);
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({ code: 'BUDGET_EXCEEDED' });

    const report = await a.handler.fetch(jsonRequest('/usage/erin', 'erin'));
    expect(await report.json()).toMatchObject({
      total: { turns: 2, llm_calls: 2, input_tokens: 20, output_tokens: 10 },
    });
  });
});
