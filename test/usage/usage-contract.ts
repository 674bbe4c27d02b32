import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { RateWindowBackend } from '../../src/limits/rate-window-backend.js';
import type { UsageBackend } from '../../src/usage/usage-backend.js';
import { UsageLedger } from '../../src/usage/usage-ledger.js';

/** Two handles on one store (two clients for Redis, the same instance twice for memory). */
export interface UsageStores {
  usage: [UsageBackend, UsageBackend];
  windows: [RateWindowBackend, RateWindowBackend];
}

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
