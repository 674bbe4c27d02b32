import { describe, expect, it } from 'vitest';
import { MemoryConversationBackend } from '../../src/conversations/memory-conversation-backend.js';

function clocked() {
  let now = 1_000;
  const backend = new MemoryConversationBackend(() => now);
  return {
    backend,
    advance(ms: number) {
      now += ms;
    },
    record: (userId: string, conversationId: string, ttlMs: number, at = now) =>
      backend.recordTurn(userId, conversationId, { title: conversationId, at, ttlMs }),
  };
}

describe('MemoryConversationBackend: expiry', () => {
  it('drops each entry when it is due, the sooner one first, and the user once none is left', async () => {
    const { backend, advance, record } = clocked();
    await record('ann', 'short', 100);
    await record('ann', 'long', 300);
    advance(150);
    expect(await backend.get('ann', 'short')).toBeNull();
    expect(await backend.get('ann', 'long')).toMatchObject({ conversationId: 'long', turns: 1 });
    expect((await backend.list('ann', { limit: 10 })).conversations.map((c) => c.conversationId)).toEqual(['long']);
    // A later turn of the kept one moves its expiry; the sweep finds the new date.
    await record('ann', 'long', 300);
    advance(200);
    expect(await backend.get('ann', 'long')).toMatchObject({ turns: 2 });
    advance(200);
    expect(await backend.list('ann', { limit: 10 })).toEqual({ conversations: [], hasMore: false });
    expect(backend.size).toBe(0);
  });

  it('lets go of users who never come back, as other users record turns', async () => {
    const { backend, advance, record } = clocked();
    for (let i = 0; i < 50; i++) await record(`gone${i}`, 'c', 100);
    advance(1_000);
    expect(backend.size).toBe(50);
    // Each recorded turn looks at two other users: 25 turns pass over all 50 (and the new one).
    for (let i = 0; i < 30; i++) await record('active', `c${i}`, 10_000);
    expect(backend.size).toBe(1);
    expect((await backend.list('active', { limit: 100 })).conversations).toHaveLength(30);
  });

  it('keeps a user whose entries are live while sweeping past it', async () => {
    const { backend, advance, record } = clocked();
    await record('kept', 'c', 10_000);
    await record('gone', 'c', 10);
    advance(100);
    for (let i = 0; i < 4; i++) await record('active', `c${i}`, 10_000);
    expect(backend.size).toBe(2);
    expect(await backend.get('kept', 'c')).toMatchObject({ conversationId: 'c' });
    expect(await backend.get('gone', 'c')).toBeNull();
  });

  it('never shows an entry recorded already expired (a clock behind), and drops its user', async () => {
    const { backend, record } = clocked();
    await record('late', 'c', 100, 500);
    expect(await backend.get('late', 'c')).toBeNull();
    expect(await backend.list('late', { limit: 10 })).toEqual({ conversations: [], hasMore: false });
    expect(backend.size).toBe(0);
  });

  it('starts a removed conversation anew when it is recorded again, expiring on its new date', async () => {
    const { backend, advance, record } = clocked();
    await record('ann', 'c', 100);
    await record('ann', 'd', 1_000);
    expect(await backend.remove('ann', 'c')).toBe(true);
    await record('ann', 'c', 300);
    advance(150);
    // The removed entry's old date (the sweep's earliest) has passed: the new one is still live.
    expect(await backend.get('ann', 'c')).toMatchObject({ conversationId: 'c', turns: 1 });
    advance(200);
    expect(await backend.get('ann', 'c')).toBeNull();
    expect(await backend.get('ann', 'd')).toMatchObject({ turns: 1 });
  });
});
