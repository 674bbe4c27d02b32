import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ConversationBackend } from '../../src/conversations/conversation-backend.js';

/** A backend and the clock it reads, which the suite moves. */
export interface ConversationBackendUnderTest {
  backend: ConversationBackend;
  /** Moves the backend's clock (which starts at 0) forward. */
  advance(ms: number): void;
  /** Writes junk where `userId`'s entry for `conversationId` lives (shared stores only). */
  corrupt?(userId: string, conversationId: string): Promise<void>;
}

const HOUR = 3_600_000;
const user = () => `user-${randomUUID()}`;

/**
 * The behaviour every {@link ConversationBackend} must have. Runs unchanged against memory and a
 * real Redis; the clock is the suite's, so expiry is tested without waiting.
 */
export function runConversationBackendContract(
  name: string,
  make: () => Promise<ConversationBackendUnderTest>,
  options: { storesText: boolean },
) {
  describe(`ConversationBackend contract: ${name}`, () => {
    it('creates an entry on the first turn and counts later turns, keeping the first title', async () => {
      const { backend } = await make();
      const alice = user();
      await backend.recordTurn(alice, 'c1', { title: 'First question', at: 1_000, ttlMs: HOUR });
      await backend.recordTurn(alice, 'c1', { title: 'Second question', at: 2_000, ttlMs: HOUR });
      expect(await backend.get(alice, 'c1')).toEqual({
        conversationId: 'c1',
        title: 'First question',
        createdAt: 1_000,
        updatedAt: 2_000,
        turns: 2,
      });
      expect(await backend.get(alice, 'other')).toBeNull();
    });

    it('lists newest first, pages with `before`, and says when more exist', async () => {
      const { backend } = await make();
      const alice = user();
      for (let i = 1; i <= 5; i++)
        await backend.recordTurn(alice, `c${i}`, { title: `t${i}`, at: i * 1_000, ttlMs: HOUR });
      // Touching c2 moves it to the top.
      await backend.recordTurn(alice, 'c2', { title: 'ignored', at: 9_000, ttlMs: HOUR });
      const first = await backend.list(alice, { limit: 2 });
      expect(first.conversations.map((c) => c.conversationId)).toEqual(['c2', 'c5']);
      expect(first.hasMore).toBe(true);
      const second = await backend.list(alice, { limit: 2, before: first.conversations[1]?.updatedAt });
      expect(second.conversations.map((c) => c.conversationId)).toEqual(['c4', 'c3']);
      expect(second.hasMore).toBe(true);
      const last = await backend.list(alice, { limit: 2, before: second.conversations[1]?.updatedAt });
      expect(last.conversations.map((c) => c.conversationId)).toEqual(['c1']);
      expect(last.hasMore).toBe(false);
    });

    it('keeps users apart', async () => {
      const { backend } = await make();
      const [alice, bob] = [user(), user()];
      await backend.recordTurn(alice, 'shared-name', { title: 'alice', at: 1_000, ttlMs: HOUR });
      expect(await backend.get(bob, 'shared-name')).toBeNull();
      expect((await backend.list(bob, { limit: 10 })).conversations).toEqual([]);
      expect(await backend.remove(bob, 'shared-name')).toBe(false);
      expect((await backend.get(alice, 'shared-name'))?.title).toBe('alice');
    });

    it('removes one conversation and reports whether it existed', async () => {
      const { backend } = await make();
      const alice = user();
      await backend.recordTurn(alice, 'keep', { title: 'keep', at: 1_000, ttlMs: HOUR });
      await backend.recordTurn(alice, 'drop', { title: 'drop', at: 2_000, ttlMs: HOUR });
      expect(await backend.remove(alice, 'drop')).toBe(true);
      expect(await backend.remove(alice, 'drop')).toBe(false);
      expect((await backend.list(alice, { limit: 10 })).conversations.map((c) => c.conversationId)).toEqual(['keep']);
    });

    it('expires each conversation on its own after its TTL without a turn', async () => {
      const under = await make();
      const { backend } = under;
      const alice = user();
      const start = 0;
      await backend.recordTurn(alice, 'old', { title: 'old', at: start, ttlMs: 10_000 });
      under.advance(6_000);
      await backend.recordTurn(alice, 'new', { title: 'new', at: start + 6_000, ttlMs: 10_000 });
      under.advance(6_000);
      expect(await backend.get(alice, 'old')).toBeNull();
      expect((await backend.list(alice, { limit: 10 })).conversations.map((c) => c.conversationId)).toEqual(['new']);
      // A third turn prunes the stale entry for good.
      await backend.recordTurn(alice, 'new', { title: 'new', at: start + 12_000, ttlMs: 10_000 });
      expect(await backend.remove(alice, 'old')).toBe(false);
    });

    it.skipIf(!options.storesText)('skips a corrupt entry instead of failing the whole list', async () => {
      const under = await make();
      const alice = user();
      await under.backend.recordTurn(alice, 'good', { title: 'good', at: 1_000, ttlMs: HOUR });
      await under.backend.recordTurn(alice, 'bad', { title: 'bad', at: 2_000, ttlMs: HOUR });
      await under.corrupt?.(alice, 'bad');
      expect(await under.backend.get(alice, 'bad')).toBeNull();
      const page = await under.backend.list(alice, { limit: 1 });
      expect(page.conversations.map((c) => c.conversationId)).toEqual(['good']);
      expect(page.hasMore).toBe(false);
    });

    it.skipIf(!options.storesText)('fills a page past corrupt entries', async () => {
      const under = await make();
      const alice = user();
      for (let i = 1; i <= 6; i++) {
        await under.backend.recordTurn(alice, `c${i}`, { title: `t${i}`, at: i * 1_000, ttlMs: HOUR });
      }
      await under.corrupt?.(alice, 'c6');
      await under.corrupt?.(alice, 'c5');
      const page = await under.backend.list(alice, { limit: 3 });
      expect(page.conversations.map((c) => c.conversationId)).toEqual(['c4', 'c3', 'c2']);
      expect(page.hasMore).toBe(true);
    });
  });
}
