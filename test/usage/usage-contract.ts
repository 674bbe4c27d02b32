import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { RateWindowBackend } from '../../src/limits/rate-window-backend.js';
import { conversationUsageKey, usageKey } from '../../src/session/session-keys.js';
import type { UsageBackend } from '../../src/usage/usage-backend.js';
import { MAX_COUNTER, MAX_USAGE_COUNT } from '../../src/usage/usage-counts.js';
import { UsageLedger } from '../../src/usage/usage-ledger.js';

/**
 * Raw access to a store, to plant junk the library never writes itself (a string field, a key
 * of another type). Only stores that hold text have it: the memory backend holds numbers.
 */
export interface RawUsageStore {
  hset(key: string, field: string, value: string): Promise<void>;
  set(key: string, value: string): Promise<void>;
  hgetall(key: string): Promise<Record<string, string>>;
}

/** Two handles on one store (two clients for Redis, the same instance twice for memory). */
export interface UsageStores {
  usage: [UsageBackend, UsageBackend];
  windows: [RateWindowBackend, RateWindowBackend];
  raw?: RawUsageStore;
}

/** A {@link RawUsageStore} over an ioredis client (or cluster) and the backends' key prefix. */
export function rawRedisStore(
  client: {
    hset(key: string, field: string, value: string): Promise<unknown>;
    set(key: string, value: string): Promise<unknown>;
    hgetall(key: string): Promise<Record<string, string>>;
  },
  prefix: string,
): RawUsageStore {
  return {
    hset: async (key, field, value) => void (await client.hset(prefix + key, field, value)),
    set: async (key, value) => void (await client.set(prefix + key, value)),
    hgetall: (key) => client.hgetall(prefix + key),
  };
}

const today = () => new Date().toISOString().slice(0, 10);

const WAIT = { timeout: 5000, interval: 50 };

/**
 * The contract every usage and rate-window backend passes, memory and Redis alike: counters
 * add up across handles and concurrent writers, expire by TTL, and the ledger built on them
 * reports per model, per period and per conversation, with cost.
 */
export function runUsageContract(name: string, makeStores: () => Promise<UsageStores>): void {
  describe(`${name}: usage backend`, () => {
    it('adds counters across handles and concurrent writers without losing any', async () => {
      const { usage } = await makeStores();
      const key = `usage:{u-${randomUUID()}}:total`;
      await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          (usage[i % 2] as UsageBackend).add([{ key, fields: { a: 1, b: 2 }, ttlMs: 60_000 }]),
        ),
      );
      const [counters] = await usage[1].read([key]);
      expect(counters).toEqual({ a: 40, b: 80 });
    });

    it('reads absent keys as empty, in the order asked', async () => {
      const { usage } = await makeStores();
      const tag = `{u-${randomUUID()}}`;
      await usage[0].add([{ key: `${tag}:x`, fields: { n: 3 }, ttlMs: 60_000 }]);
      expect(await usage[1].read([`${tag}:missing`, `${tag}:x`])).toEqual([{}, { n: 3 }]);
    });

    it('forgets a hash after its TTL', async () => {
      const { usage } = await makeStores();
      const key = `usage:{u-${randomUUID()}}:d`;
      await usage[0].add([{ key, fields: { n: 1 }, ttlMs: 150 }]);
      expect((await usage[1].read([key]))[0]).toEqual({ n: 1 });
      await expect.poll(async () => (await usage[1].read([key]))[0], WAIT).toEqual({});
    });

    it('adds whole amounts only, and saturates a counter at MAX_COUNTER instead of failing', async () => {
      const { usage } = await makeStores();
      const key = `usage:{u-${randomUUID()}}:total`;
      await usage[0].add([
        { key, fields: { cut: 2.9, negative: -4, nan: Number.NaN, big: MAX_COUNTER }, ttlMs: 60_000 },
      ]);
      await usage[1].add([{ key, fields: { big: 5, inf: Number.POSITIVE_INFINITY, cut: 1 }, ttlMs: 60_000 }]);
      expect((await usage[1].read([key]))[0]).toEqual({
        cut: 3,
        negative: 0,
        nan: 0,
        big: MAX_COUNTER,
        inf: MAX_COUNTER,
      });
    });
  });

  describe(`${name}: usage ledger`, () => {
    it('reports tokens per model, per period and per conversation, with cost from prices', async () => {
      const { usage } = await makeStores();
      const prices = {
        big: { inputPerMillion: 3, outputPerMillion: 15, cachedInputPerMillion: 0.3, cacheWriteInputPerMillion: 3.75 },
      };
      const writer = new UsageLedger(usage[0], { prices });
      const reader = new UsageLedger(usage[1], { prices, currency: 'EUR' });
      const user = `user-${randomUUID()}`;
      await writer.recordLlmCall(user, 'c1', 'big', {
        inputTokens: 1000,
        outputTokens: 200,
        cachedInputTokens: 400,
        cacheWriteInputTokens: 100,
      });
      await writer.recordLlmCall(user, 'c1', 'big', { inputTokens: 1000, outputTokens: 100 });
      await writer.recordLlmCall(user, undefined, 'small', { inputTokens: 50, outputTokens: 5 });
      await writer.recordTurn(user, 'c1', 2);
      await writer.recordTurn(user, undefined, 0);

      const report = await reader.read(user, { conversationId: 'c1' });
      expect(report.user_id).toBe(user);
      expect(report.currency).toBe('EUR');
      expect(report.total).toMatchObject({
        input_tokens: 2050,
        output_tokens: 305,
        cached_input_tokens: 400,
        cache_write_input_tokens: 100,
        llm_calls: 3,
        turns: 2,
        tool_calls: 2,
      });
      // 1500 plain × 3 + 400 cached × 0.3 + 100 written × 3.75 + 300 out × 15, per million;
      // `small` has no price.
      expect(report.total.models.big?.cost).toBeCloseTo((1500 * 3 + 400 * 0.3 + 100 * 3.75 + 300 * 15) / 1e6, 9);
      expect(report.total.models.small?.cost).toBeUndefined();
      expect(report.total.cost).toBe(report.total.models.big?.cost);
      expect(report.day).toMatchObject({ period: new Date().toISOString().slice(0, 10), input_tokens: 2050, turns: 2 });
      expect(report.month).toMatchObject({ period: new Date().toISOString().slice(0, 7), output_tokens: 305 });
      expect(report.conversation).toMatchObject({
        conversation_id: 'c1',
        input_tokens: 2000,
        turns: 1,
        tool_calls: 2,
      });
      expect(report.conversation?.models.small).toBeUndefined();
      expect(await reader.tokensUsed(user)).toEqual({ day: 2355, month: 2355 });
      // Budgets reset with the UTC calendar: the next day starts from zero.
      expect((await reader.tokensUsed(user, new Date(Date.now() + 86_400_000))).day).toBe(0);
      expect((await reader.read(user, { at: new Date(Date.now() + 86_400_000) })).day.turns).toBe(0);
    });

    it('keeps users apart and omits cost without prices', async () => {
      const { usage } = await makeStores();
      const ledger = new UsageLedger(usage[0]);
      const [one, two] = [`a-${randomUUID()}`, `b-${randomUUID()}`];
      await ledger.recordLlmCall(one, undefined, 'm', { inputTokens: 7, outputTokens: 3 });
      const report = await ledger.read(two);
      expect(report.total).toMatchObject({ input_tokens: 0, output_tokens: 0, turns: 0, models: {} });
      expect(report.total.cost).toBeUndefined();
      expect(report.currency).toBeUndefined();
      expect((await ledger.read(one)).total.input_tokens).toBe(7);
    });

    it('records a runaway figure as MAX_USAGE_COUNT, in every counter, and keeps counting after it', async () => {
      const { usage } = await makeStores();
      const ledger = new UsageLedger(usage[0]);
      const user = `user-${randomUUID()}`;
      await ledger.recordLlmCall(user, 'c1', 'm', { inputTokens: 5, outputTokens: 1e21 });
      // Finite, so a provider's count parsing lets it through; past HINCRBY's 2^63 with the next.
      await ledger.recordLlmCall(user, 'c1', 'm', { inputTokens: 9_223_372_036_854_775_000, outputTokens: 0 });
      await ledger.recordLlmCall(user, 'c1', 'm', { inputTokens: 1000, outputTokens: 50 });
      await ledger.recordTurn(user, 'c1', 1);
      const report = await new UsageLedger(usage[1]).read(user, { conversationId: 'c1' });
      const expected = {
        input_tokens: MAX_USAGE_COUNT + 1005,
        output_tokens: MAX_USAGE_COUNT + 50,
        llm_calls: 3,
        turns: 1,
        tool_calls: 1,
      };
      for (const counts of [report.total, report.day, report.month, report.conversation]) {
        expect(counts).toMatchObject(expected);
      }
      const tokens = 2 * MAX_USAGE_COUNT + 1055;
      expect(await ledger.tokensUsed(user)).toEqual({ day: tokens, month: tokens });
    });

    it('cuts fractions, counts negative or NaN figures as 0, and sums tokens from what it records', async () => {
      const { usage } = await makeStores();
      const ledger = new UsageLedger(usage[0]);
      const user = `user-${randomUUID()}`;
      await ledger.recordLlmCall(user, undefined, 'm', { inputTokens: 0.6, outputTokens: 0.6 });
      await ledger.recordLlmCall(user, undefined, 'm', {
        inputTokens: 10.9,
        outputTokens: -3,
        cachedInputTokens: Number.NaN,
        cacheWriteInputTokens: 2.5,
      });
      await ledger.recordTurn(user, undefined, 2.7);
      await ledger.recordTurn(user, undefined, -1);
      expect((await ledger.read(user)).total).toMatchObject({
        input_tokens: 10,
        output_tokens: 0,
        cached_input_tokens: 0,
        cache_write_input_tokens: 2,
        llm_calls: 2,
        turns: 2,
        tool_calls: 2,
      });
      // 0.6 + 0.6 is no token: the budget counts the recorded 10, not 11.2 cut to 11.
      expect(await ledger.tokensUsed(user)).toEqual({ day: 10, month: 10 });
    });
  });

  describe(`${name}: junk in the store`, () => {
    it('repairs a junk day field on the next write, so the daily budget keeps counting', async (context) => {
      const { usage, raw } = await makeStores();
      if (!raw) return context.skip();
      const ledger = new UsageLedger(usage[0]);
      const user = `user-${randomUUID()}`;
      await ledger.recordLlmCall(user, undefined, 'm', { inputTokens: 5000, outputTokens: 5000 });
      await raw.hset(usageKey(user, `d:${today()}`), 'tokens', '1.5');
      // Read as the whole number the next write repairs it to.
      expect((await ledger.tokensUsed(user)).day).toBe(1);
      await ledger.recordLlmCall(user, undefined, 'm', { inputTokens: 100_000, outputTokens: 0 });
      expect(await ledger.tokensUsed(user)).toEqual({ day: 100_001, month: 110_000 });
      expect((await ledger.read(user)).total.input_tokens).toBe(105_000);
    });

    it('adds to fields that are not whole numbers as they read, and leaves the other fields alone', async (context) => {
      const { usage, raw } = await makeStores();
      if (!raw) return context.skip();
      const ledger = new UsageLedger(usage[0]);
      const user = `user-${randomUUID()}`;
      const total = usageKey(user, 'total');
      await raw.hset(total, 'm|in', 'abc');
      await raw.hset(total, 'm|out', '-7');
      await raw.hset(total, 'm|calls', '12.9');
      await raw.hset(total, 'tokens', '9223372036854775000'); // written before counters saturated
      await raw.hset(total, 'turns', '1e3');
      await ledger.recordLlmCall(user, undefined, 'm', { inputTokens: 10, outputTokens: 5 });
      expect(await raw.hgetall(total)).toEqual({
        'm|in': '10',
        'm|out': '5',
        'm|calls': '13',
        tokens: String(MAX_COUNTER),
        turns: '1e3',
      });
      expect((await ledger.read(user)).total).toMatchObject({
        input_tokens: 10,
        output_tokens: 5,
        llm_calls: 13,
        turns: 1000,
      });
    });

    it('replaces a counter key of another type with the addition, writing the other keys too', async (context) => {
      const { usage, raw } = await makeStores();
      if (!raw) return context.skip();
      const ledger = new UsageLedger(usage[0]);
      const user = `user-${randomUUID()}`;
      await raw.set(usageKey(user, `d:${today()}`), 'junk');
      await raw.set(conversationUsageKey(user, 'c1'), 'junk');
      await ledger.recordLlmCall(user, 'c1', 'm', { inputTokens: 7, outputTokens: 3 });
      expect(await ledger.tokensUsed(user)).toEqual({ day: 10, month: 10 });
      const report = await ledger.read(user, { conversationId: 'c1' });
      expect(report.total.input_tokens).toBe(7);
      expect(report.conversation?.output_tokens).toBe(3);
    });
  });

  describe(`${name}: rate windows`, () => {
    it('admits exactly the limit under concurrent requests from two handles', async () => {
      const { windows } = await makeStores();
      const key = `w-${randomUUID()}`;
      const results = await Promise.all(
        Array.from({ length: 30 }, (_, i) => (windows[i % 2] as RateWindowBackend).consume(key, 12, 60_000)),
      );
      expect(results.filter((result) => result.allowed)).toHaveLength(12);
      const refused = results.find((result) => !result.allowed);
      expect(refused?.resetMs).toBeGreaterThan(0);
      expect(refused?.resetMs).toBeLessThanOrEqual(60_000);
    });

    it('opens a fresh window once the old one ends', async () => {
      const { windows } = await makeStores();
      const key = `w-${randomUUID()}`;
      expect((await windows[0].consume(key, 1, 1000)).allowed).toBe(true);
      expect((await windows[1].consume(key, 1, 1000)).allowed).toBe(false);
      await expect.poll(async () => (await windows[1].consume(key, 1, 1000)).allowed, WAIT).toBe(true);
    });

    it('refuses windows that are not whole seconds', async () => {
      const { windows } = await makeStores();
      await expect(windows[0].consume('k', 1, 1500)).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
      await expect(windows[0].consume('k', 0, 1000)).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    });
  });
}
