import { afterEach, describe, expect, it } from 'vitest';
import { isLlmChatError } from '../../src/errors.js';
import { memoryStorage } from '../../src/storage.js';
import { MemoryUsageBackend } from '../../src/usage/memory-usage-backend.js';

const DAY = 86_400_000;
let backend: MemoryUsageBackend | undefined;

afterEach(async () => {
  await backend?.close();
  backend = undefined;
});

const add = (usage: MemoryUsageBackend, key: string, n = 1) => usage.add([{ key, fields: { tokens: n }, ttlMs: DAY }]);

describe('MemoryUsageBackend maxEntries', () => {
  it('keeps at most maxEntries hashes, dropping the one written least recently, and warns once', async () => {
    const warnings: string[] = [];
    const usage = new MemoryUsageBackend({ maxEntries: 3, logger: { warn: (message) => warnings.push(message) } });
    backend = usage;
    await add(usage, 'total');
    await add(usage, 'c1');
    await add(usage, 'c2');
    // The user's total is written again with the next call: it is now the freshest.
    await add(usage, 'total', 5);
    await add(usage, 'c3');
    expect(usage.size).toBe(3);
    expect(await usage.read(['total', 'c1', 'c2', 'c3'])).toEqual([{ tokens: 6 }, {}, { tokens: 1 }, { tokens: 1 }]);

    // A flood of new conversation ids: the size stays, and counters written meanwhile survive.
    for (let i = 0; i < 1_000; i++) {
      await add(usage, `flood-${i}`);
      if (i % 2 === 0) await add(usage, 'total');
    }
    expect(usage.size).toBe(3);
    expect((await usage.read(['total']))[0]).toEqual({ tokens: 506 });
    expect(warnings).toEqual(['Memory usage storage is full; the counters written least recently were dropped.']);
  });

  it('refuses a maxEntries that is not a positive whole number, and a sweep interval that is not positive', () => {
    const options = [
      ...[0, -1, 1.5, Number.NaN].map((maxEntries) => ({ maxEntries })),
      ...[0, -1, Number.NaN].map((sweepIntervalMs) => ({ sweepIntervalMs })),
    ];
    for (const bad of options) {
      let caught: unknown;
      try {
        new MemoryUsageBackend(bad);
      } catch (error) {
        caught = error;
      }
      expect(isLlmChatError(caught) && caught.code, JSON.stringify(bad)).toBe('CONFIG_INVALID');
    }
  });

  it('takes its bound from memoryStorage({ usageMaxEntries })', async () => {
    const storage = memoryStorage({ usageMaxEntries: 2 });
    try {
      const usage = storage.usage as MemoryUsageBackend;
      for (const key of ['a', 'b', 'c', 'd']) await add(usage, key);
      expect(usage.size).toBe(2);
      expect(await usage.read(['a', 'd'])).toEqual([{}, { tokens: 1 }]);
    } finally {
      await storage.close();
    }
  });
});
