import { randomUUID } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { isLlmChatError } from '../../src/errors.js';
import type { SessionBackend } from '../../src/session/session-backend.js';
import { sessionKeys } from '../../src/session/session-keys.js';
import { SessionStore } from '../../src/session/session-store.js';
import type { SessionConfig, TranscriptMessage } from '../../src/types.js';

/** Two handles on one store: two clients for Redis, the same instance twice for memory. */
export type MakeSessionBackends = () => Promise<[SessionBackend, SessionBackend]>;

const WAIT = { timeout: 3000, interval: 20 };

/** A key no other test uses. */
const uniqueKey = (label: string) => `${label}:${randomUUID()}`;

/**
 * Keys for one multi-key call: they share a hash tag, as the interface requires (on Redis
 * Cluster a call over two slots fails with CROSSSLOT).
 */
const keyGroup = () => {
  const tag = `{group-${randomUUID()}}`;
  return (label: string) => `${tag}:${label}`;
};

const config = (overrides: Partial<SessionConfig> = {}): SessionConfig => ({
  servers: [{ url: 'http://127.0.0.1:8000/mcp', transport: 'streamable_http' }],
  model: 'gpt-4o',
  temperature: 0.2,
  streaming: true,
  ...overrides,
});

/** One turn with a tool call and its result, tagged `n` so tests can tell turns apart. */
const toolTurn = (n: number): TranscriptMessage[] => [
  { role: 'user', content: `question ${n}` },
  { role: 'assistant', content: '', toolCalls: [{ id: `call_${n}`, name: 'echo', arguments: { n } }] },
  { role: 'tool', toolCallId: `call_${n}`, name: 'echo', content: `result ${n}` },
  { role: 'assistant', content: `answer ${n}` },
];

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return isLlmChatError(error) ? error.code : `not an LlmChatError: ${String(error)}`;
  }
  return 'resolved';
}

/**
 * The behaviour every {@link SessionBackend} must have, and {@link SessionStore} on top of it.
 * Runs unchanged against the memory backend and a real Redis. Keys are random per test; the
 * caller cleans up its backends (and Redis keys) after the suite.
 */
export function runSessionBackendContract(name: string, makeBackends: MakeSessionBackends): void {
  describe(`SessionBackend contract: ${name}`, () => {
    it('stores strings that the other handle reads back unchanged', async () => {
      const [a, b] = await makeBackends();
      const key = uniqueKey('value');
      const value = JSON.stringify({ text: 'ünïcødé 🚀\n"quoted"', n: 1 });
      expect(await a.get(key)).toBeNull();
      await a.set(key, value, 10_000);
      expect(await b.get(key)).toBe(value);
      await b.set(key, 'second', 10_000);
      expect(await a.get(key)).toBe('second');
    });

    it('expires a value after its TTL', async () => {
      const [a, b] = await makeBackends();
      const key = uniqueKey('ttl');
      await a.set(key, 'short-lived', 150);
      expect(await b.get(key)).toBe('short-lived');
      await vi.waitFor(async () => expect(await b.get(key)).toBeNull(), WAIT);
    });

    it('set replaces the TTL as well as the value', async () => {
      const [a] = await makeBackends();
      const key = uniqueKey('reset');
      await a.set(key, 'v1', 150);
      await a.set(key, 'v2', 10_000);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await a.get(key)).toBe('v2');
    });

    it('delete removes values and lists and counts those that existed', async () => {
      const [a, b] = await makeBackends();
      const groupKey = keyGroup();
      const value = groupKey('del-value');
      const list = groupKey('del-list');
      await a.set(value, 'x', 10_000);
      await a.appendToList(list, ['y'], { ttlMs: 10_000 });
      expect(await b.delete([value, list, groupKey('missing')])).toBe(2);
      expect(await a.get(value)).toBeNull();
      expect(await a.getList(list)).toEqual([]);
      expect(await a.delete([value])).toBe(0);
    });

    it('touch renews the TTL of an existing key and reports a missing one', async (ctx) => {
      const [a, b] = await makeBackends();
      if (a.touch === undefined || b.touch === undefined) return ctx.skip();
      const key = uniqueKey('touch');
      await a.set(key, 'kept', 150);
      expect(await b.touch(key, 10_000)).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await a.get(key)).toBe('kept');
      expect(await a.touch(uniqueKey('missing'), 10_000)).toBe(false);
    });

    it('takeIfEqual deletes a value only when it is exactly the one expected', async (ctx) => {
      const [a, b] = await makeBackends();
      if (a.takeIfEqual === undefined || b.takeIfEqual === undefined) return ctx.skip();
      const key = uniqueKey('take-if-equal');
      expect(await a.takeIfEqual(key, 'v1')).toBe(false);
      await a.set(key, 'v2', 10_000);
      expect(await b.takeIfEqual(key, 'v1')).toBe(false);
      expect(await a.get(key)).toBe('v2');
      expect(await b.takeIfEqual(key, 'v2')).toBe(true);
      expect(await a.get(key)).toBeNull();
      expect(await a.takeIfEqual(key, 'v2')).toBe(false);
      // With a replacement: set in the same step, only when the take happened.
      const groupKey = keyGroup();
      const [asked, answered] = [groupKey('asked'), groupKey('answered')];
      await a.set(asked, 'q2', 10_000);
      expect(await b.takeIfEqual(asked, 'q1', { key: answered, value: 'yes', ttlMs: 10_000 })).toBe(false);
      expect(await a.get(answered)).toBeNull();
      expect(await b.takeIfEqual(asked, 'q2', { key: answered, value: 'yes', ttlMs: 10_000 })).toBe(true);
      expect([await a.get(asked), await a.get(answered)]).toEqual([null, 'yes']);
    });

    it('getWithList reads a value and a list in one call, null and [] when absent', async (ctx) => {
      const [a, b] = await makeBackends();
      if (a.getWithList === undefined || b.getWithList === undefined) return ctx.skip();
      const groupKey = keyGroup();
      const value = groupKey('gwl-value');
      const list = groupKey('gwl-list');
      expect(await a.getWithList(value, list)).toEqual([null, []]);
      await a.set(value, 'session', 10_000);
      expect(await b.getWithList(value, list)).toEqual(['session', []]);
      await a.appendToList(list, ['t1', 't2'], { ttlMs: 10_000 });
      const [read, entries] = await b.getWithList(value, list);
      expect([read, entries]).toEqual(['session', ['t1', 't2']]);
      entries.push('local change');
      expect(await a.getWithList(value, list)).toEqual(['session', ['t1', 't2']]);
      await a.delete([value]);
      expect(await b.getWithList(value, list)).toEqual([null, ['t1', 't2']]);
    });

    it('appends to a list in order and hands out copies', async () => {
      const [a, b] = await makeBackends();
      const key = uniqueKey('list');
      expect(await a.getList(key)).toEqual([]);
      await a.appendToList(key, ['one', 'two'], { ttlMs: 10_000 });
      await b.appendToList(key, ['three'], { ttlMs: 10_000 });
      const list = await a.getList(key);
      expect(list).toEqual(['one', 'two', 'three']);
      list.push('local change');
      expect(await b.getList(key)).toEqual(['one', 'two', 'three']);
    });

    it('trims a list to its newest maxLength entries', async () => {
      const [a] = await makeBackends();
      const key = uniqueKey('trim');
      for (const n of [1, 2, 3, 4]) await a.appendToList(key, [`e${n}`], { ttlMs: 10_000, maxLength: 3 });
      expect(await a.getList(key)).toEqual(['e2', 'e3', 'e4']);
      await a.appendToList(key, ['e5', 'e6'], { ttlMs: 10_000, maxLength: 3 });
      expect(await a.getList(key)).toEqual(['e4', 'e5', 'e6']);
    });

    it('appendToList with onlyIf appends only while the guard key holds the text, atomically', async () => {
      const [a, b] = await makeBackends();
      // One hash tag: the list and its guard share a Redis Cluster slot.
      const tag = `{${randomUUID()}}`;
      const list = `guarded-list:${tag}`;
      const guard = `guarded-record:${tag}`;
      const onlyIf = { key: guard, contains: '"version":"v1"' };
      expect(await a.appendToList(list, ['no-guard-key'], { ttlMs: 10_000, onlyIf })).toBe(false);
      await b.set(guard, '{"version":"v1","x":1}', 10_000);
      expect(await a.appendToList(list, ['kept'], { ttlMs: 10_000, onlyIf })).toBe(true);
      await b.set(guard, '{"version":"v2","x":1}', 10_000);
      expect(await a.appendToList(list, ['replaced'], { ttlMs: 10_000, onlyIf })).toBe(false);
      expect(await b.getList(list)).toEqual(['kept']);
    });

    it('appendToList sets the list TTL and refreshes the touched keys that exist', async () => {
      const [a, b] = await makeBackends();
      const groupKey = keyGroup();
      const list = groupKey('append-ttl');
      const kept = groupKey('append-touched');
      const absent = groupKey('append-absent');
      await a.set(kept, 'refreshed', 150);
      await a.appendToList(list, ['x'], {
        ttlMs: 150,
        touch: [
          { key: kept, ttlMs: 10_000 },
          { key: absent, ttlMs: 10_000 },
        ],
      });
      expect(await b.getList(list)).toEqual(['x']);
      await vi.waitFor(async () => expect(await b.getList(list)).toEqual([]), WAIT);
      expect(await b.get(kept)).toBe('refreshed');
      expect(await b.get(absent)).toBeNull();
    });

    it('loses no entry when two handles append concurrently', async () => {
      const [a, b] = await makeBackends();
      const key = uniqueKey('concurrent');
      const writes = Array.from({ length: 40 }, (_, n) =>
        (n % 2 === 0 ? a : b).appendToList(key, [`n${n}`], { ttlMs: 10_000, maxLength: 1000 }),
      );
      await Promise.all(writes);
      const list = await a.getList(key);
      expect(list).toHaveLength(40);
      expect(new Set(list)).toEqual(new Set(Array.from({ length: 40 }, (_, n) => `n${n}`)));
    });
  });

  describe(`SessionStore over ${name}`, () => {
    it('creates, reads and replaces a session with a new version each time', async () => {
      const [a, b] = await makeBackends();
      const user = `alice+${randomUUID()}@example.com`;
      const first = await new SessionStore(a).createSession(user, config());
      const read = await new SessionStore(b).getSession(user);
      expect(read).toEqual(first);
      expect(new Date(first.createdAt).toISOString()).toBe(first.createdAt);
      const second = await new SessionStore(b).createSession(user, config({ model: 'claude' }));
      expect(second.version).not.toBe(first.version);
      expect((await new SessionStore(a).requireSession(user)).config.model).toBe('claude');
    });

    it('tells a user who never connected from one whose session expired', async () => {
      const [a] = await makeBackends();
      const store = new SessionStore(a, { sessionTtlMs: 150, historyTtlMs: 10_000 });
      const never = `never-${randomUUID()}`;
      const expired = `expired-${randomUUID()}`;
      await expect(store.requireSession(never)).rejects.toMatchObject({
        code: 'SESSION_NOT_FOUND',
        message: expect.stringMatching(/^No active session found/),
      });
      await store.createSession(expired, config());
      await vi.waitFor(async () => expect(await store.getSession(expired)).toBeNull(), WAIT);
      await expect(store.requireSession(expired)).rejects.toMatchObject({
        code: 'SESSION_EXPIRED',
        message: expect.stringMatching(/^No active session found/),
      });
    });

    it('deleteSession removes session, history and marker, and says whether a session existed', async () => {
      const [a, b] = await makeBackends();
      const store = new SessionStore(a);
      const user = `bob-${randomUUID()}`;
      await store.createSession(user, config());
      await store.appendTurn(user, toolTurn(1));
      expect(await new SessionStore(b).deleteSession(user)).toBe(true);
      expect(await store.getSession(user)).toBeNull();
      expect(await store.getHistory(user)).toEqual([]);
      expect(await codeOf(store.requireSession(user))).toBe('SESSION_NOT_FOUND');
      expect(await store.deleteSession(user)).toBe(false);
    });

    it('keeps the history when a session is replaced, until cleared', async () => {
      const [a] = await makeBackends();
      const store = new SessionStore(a);
      const user = `carol-${randomUUID()}`;
      await store.createSession(user, config());
      await store.appendTurn(user, toolTurn(1));
      await store.createSession(user, config({ model: 'other' }));
      expect(await store.getHistory(user)).toEqual(toolTurn(1));
      await store.clearHistory(user);
      expect(await store.getHistory(user)).toEqual([]);
      expect(await store.getSession(user)).not.toBeNull();
    });

    it('reads a corrupt, malformed or foreign record as SESSION_INVALID', async () => {
      const [a] = await makeBackends();
      const store = new SessionStore(a);
      const user = `mallory-${randomUUID()}`;
      const key = sessionKeys(user).session;
      await a.set(key, '{not json', 10_000);
      expect(await codeOf(store.getSession(user))).toBe('SESSION_INVALID');
      await a.set(key, JSON.stringify({ v: 1, userId: user, config: { servers: 'nope' } }), 10_000);
      expect(await codeOf(store.requireSession(user))).toBe('SESSION_INVALID');
      const other = `other-${randomUUID()}`;
      await store.createSession(other, config());
      await a.set(key, (await a.get(sessionKeys(other).session)) ?? '', 10_000);
      expect(await codeOf(store.getSession(user))).toBe('SESSION_INVALID');
    });

    it('stores turns whole, flattens them oldest first, and trims whole turns', async () => {
      const [a] = await makeBackends();
      const store = new SessionStore(a, { maxHistoryTurns: 2 });
      const user = `dave-${randomUUID()}`;
      for (const n of [1, 2, 3]) await store.appendTurn(user, toolTurn(n));
      const history = await store.getHistory(user);
      expect(history).toEqual([...toolTurn(2), ...toolTurn(3)]);
      expect(history[0]).toEqual({ role: 'user', content: 'question 2' });
    });

    it('loses no turn when two processes append concurrently', async () => {
      const [a, b] = await makeBackends();
      const stores = [new SessionStore(a, { maxHistoryTurns: 100 }), new SessionStore(b, { maxHistoryTurns: 100 })];
      const user = `erin-${randomUUID()}`;
      await Promise.all(Array.from({ length: 30 }, (_, n) => stores[n % 2]?.appendTurn(user, toolTurn(n))));
      const history = await stores[0]?.getHistory(user);
      expect(history).toHaveLength(30 * 4);
      const questions = history?.filter((m) => m.role === 'user').map((m) => m.content);
      expect(new Set(questions)).toEqual(new Set(Array.from({ length: 30 }, (_, n) => `question ${n}`)));
    });

    it('refreshes the session TTL on every appended turn', async () => {
      const [a] = await makeBackends();
      const store = new SessionStore(a, { sessionTtlMs: 400, historyTtlMs: 10_000 });
      const user = `frank-${randomUUID()}`;
      await store.createSession(user, config());
      for (let n = 0; n < 6; n++) {
        await new Promise((resolve) => setTimeout(resolve, 120));
        await store.appendTurn(user, toolTurn(n));
      }
      expect(await store.getSession(user)).not.toBeNull();
      await vi.waitFor(async () => expect(await store.getSession(user)).toBeNull(), WAIT);
    });

    it('skips a corrupt history entry with a warning', async () => {
      const [a] = await makeBackends();
      const warn = vi.fn();
      const store = new SessionStore(a, { logger: { warn } });
      const user = `gina-${randomUUID()}`;
      await store.appendTurn(user, toolTurn(1));
      await a.appendToList(sessionKeys(user).history, ['{broken', '[{"role":"robot"}]'], { ttlMs: 10_000 });
      await store.appendTurn(user, toolTurn(2));
      expect(await store.getHistory(user)).toEqual([...toolTurn(1), ...toolTurn(2)]);
      expect(warn).toHaveBeenCalledTimes(2);
    });

    it('seals secrets at rest and refuses records sealed with another key', async () => {
      const [a, b] = await makeBackends();
      const user = `heidi-${randomUUID()}`;
      const secrets = ['tok-SECRET-1a2b', 'Bearer hdr-SECRET-3c4d', 'env-SECRET-5e6f'];
      const sealed = config({
        servers: [
          {
            url: 'http://127.0.0.1:8000/mcp',
            authToken: secrets[0],
            headers: { Authorization: secrets[1] ?? '' },
            env: { API_KEY: secrets[2] ?? '' },
          },
        ],
      });
      const created = await new SessionStore(a, { sealKey: 'host-secret' }).createSession(user, sealed);
      expect(created.config).toEqual(sealed);
      const raw = (await b.get(sessionKeys(user).session)) ?? '';
      expect(raw).toContain('sealed:v1:');
      for (const secret of secrets) expect(raw).not.toContain(secret);
      expect((await new SessionStore(b, { sealKey: 'host-secret' }).requireSession(user)).config).toEqual(sealed);
      expect(await codeOf(new SessionStore(b, { sealKey: 'another-secret' }).getSession(user))).toBe('SESSION_INVALID');
      expect(await codeOf(new SessionStore(b).getSession(user))).toBe('SESSION_INVALID');
    });
  });
}
