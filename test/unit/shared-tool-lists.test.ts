import { createHash } from 'node:crypto';
import RedisMock from 'ioredis-mock';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { LlmChatError } from '../../src/errors.js';
import type { StoredTool } from '../../src/mcp/stored-tool.js';
import { RedisSessionBackend } from '../../src/redis/redis-session-backend.js';
import { MemorySessionBackend } from '../../src/session/memory-session-backend.js';
import type { SessionBackend } from '../../src/session/session-backend.js';
import { sessionKeys, toolListKey } from '../../src/session/session-keys.js';
import { SessionStore } from '../../src/session/session-store.js';
import { SharedToolLists } from '../../src/session/shared-tool-lists.js';
import type { Logger, SessionConfig } from '../../src/types.js';

// A session record names its tool list (the SHA-256 of its JSON), stored once for every session
// that lists the same tools: these tests hold what that saves and that nothing a backend loses
// or garbles turns into more than the tools being listed again.

const config: SessionConfig = { servers: [{ url: 'http://127.0.0.1:8000/mcp' }], model: 'gpt-4o', streaming: false };

const listed = (): StoredTool[] => [
  { name: 'add', server: 0, description: 'Adds.', inputSchema: { type: 'object', properties: { a: {} } } },
  { name: 'echo', server: 0, inputSchema: { type: 'object' }, annotations: { readOnlyHint: true } },
];

const opened: MemorySessionBackend[] = [];
afterAll(async () => {
  await Promise.all(opened.map((backend) => backend.close()));
});
afterEach(() => {
  vi.useRealTimers();
});

function memoryBackend(): MemorySessionBackend {
  const backend = new MemorySessionBackend();
  opened.push(backend);
  return backend;
}

/** `backend`, counting the calls of each method by key. */
function counted(backend: SessionBackend): SessionBackend & { calls: string[] } {
  const calls: string[] = [];
  const wrapped = {
    calls,
    get: (key: string) => {
      calls.push(`get ${key}`);
      return backend.get(key);
    },
    set: (key: string, value: string, ttlMs: number) => {
      calls.push(`set ${key}`);
      return backend.set(key, value, ttlMs);
    },
    delete: (keys: readonly string[]) => backend.delete(keys),
    getList: (key: string) => backend.getList(key),
    appendToList: backend.appendToList.bind(backend),
    touch: (key: string, ttlMs: number) => {
      calls.push(`touch ${key}`);
      return backend.touch?.(key, ttlMs) ?? Promise.resolve(false);
    },
  };
  return wrapped;
}

function warnings(): Logger & { warned: string[] } {
  const warned: string[] = [];
  return { warned, warn: (message: string) => warned.push(message) };
}

async function recordOf(backend: SessionBackend, userId: string): Promise<Record<string, unknown>> {
  return JSON.parse(String(await backend.get(sessionKeys(userId).session)));
}

const digestOf = (json: string) => createHash('sha256').update(json).digest('hex');

describe('shared tool lists', () => {
  it('stores a tool list once for all the sessions that list it, and each record names it', async () => {
    const backend = memoryBackend();
    const store = new SessionStore(backend);
    await store.createSession('alice', config, { tools: listed() });
    await store.createSession('bob', config, { tools: listed() });
    await store.createSession('carol', config, { tools: [{ name: 'other', server: 0, inputSchema: {} }] });

    const alice = await recordOf(backend, 'alice');
    const bob = await recordOf(backend, 'bob');
    const carol = await recordOf(backend, 'carol');
    expect(alice.tools).toBeUndefined();
    const digest = (alice.toolList as { sha256: string }).sha256;
    expect(bob.toolList).toEqual({ sha256: digest });
    expect(carol.toolList).not.toEqual({ sha256: digest });
    const json = String(await backend.get(toolListKey(digest)));
    expect(digestOf(json)).toBe(digest);
    expect(JSON.parse(json)).toEqual(listed());
    // Two lists, three users: two keys of tools, besides each user's session and marker.
    expect(backend.size).toBe(2 + 3 * 2);

    // Another process reads each list once, and its sessions share it.
    const other = counted(backend);
    const reader = new SessionStore(other);
    const readAlice = await reader.requireSession('alice');
    const readBob = await reader.requireSession('bob');
    expect(readAlice.tools).toEqual(listed());
    expect(readBob.tools).toBe(readAlice.tools);
    expect(Object.isFrozen(readAlice.tools?.[0]?.inputSchema)).toBe(true);
    // A later turn gets the same session, not a copy checked again.
    expect(await reader.requireSession('alice')).toBe(readAlice);
    expect(Object.isFrozen(readAlice)).toBe(true);
    expect((await reader.requireSession('carol')).tools).toEqual([{ name: 'other', server: 0, inputSchema: {} }]);
    expect(other.calls.filter((call) => call.startsWith(`get ${toolListKey('')}`))).toEqual([
      `get ${toolListKey(digest)}`,
      `get ${toolListKey((carol.toolList as { sha256: string }).sha256)}`,
    ]);
  });

  it('reads a list once for the first turns of a process that come at once', async () => {
    const memory = memoryBackend();
    const writer = new SessionStore(memory);
    const users = ['a', 'b', 'c', 'd'];
    for (const user of users) await writer.createSession(user, config, { tools: listed() });
    const backend = counted(memory);
    const sessions = await Promise.all(users.map((user) => new SessionStore(backend).requireSession(user)));
    expect(sessions.map((session) => session.tools)).toEqual(users.map(() => listed()));
    // One store, many turns at once: one read of the list.
    const store = new SessionStore(backend);
    backend.calls.length = 0;
    const together = await Promise.all(users.map((user) => store.requireSession(user)));
    expect(new Set(together.map((session) => session.tools)).size).toBe(1);
    expect(backend.calls.filter((call) => call.startsWith('get tools:'))).toHaveLength(1);
  });

  it('reads a record of an older version, whose tools are in the record itself', async () => {
    const backend = memoryBackend();
    const record = { v: 1, userId: 'old', version: 'v1', createdAt: '2026-01-01T00:00:00.000Z', sealed: false, config };
    await backend.set(sessionKeys('old').session, JSON.stringify({ ...record, tools: listed() }), 60_000);
    expect((await new SessionStore(backend).requireSession('old')).tools).toEqual(listed());
    // Records carrying equal lists share one frozen copy in memory, as shared lists do.
    const other = { ...record, userId: 'older', version: 'v2' };
    await backend.set(sessionKeys('older').session, JSON.stringify({ ...other, tools: listed() }), 60_000);
    const store = new SessionStore(backend);
    const old = await store.requireSession('old');
    expect((await store.requireSession('older')).tools).toBe(old.tools);
    expect(Object.isFrozen(old.tools?.[0]?.inputSchema)).toBe(true);
  });

  it('reads a session whose list is gone, garbled or not its own as one without tools (listed again), with a warning', async () => {
    const backend = memoryBackend();
    await new SessionStore(backend).createSession('u', config, { tools: listed() });
    const digest = ((await recordOf(backend, 'u')).toolList as { sha256: string }).sha256;
    const key = toolListKey(digest);
    const json = String(await backend.get(key));
    const readFresh = async () => {
      const logger = warnings();
      const session = await new SessionStore(backend, { logger }).requireSession('u');
      return { tools: session.tools, warned: logger.warned };
    };

    await backend.delete([key]);
    expect(await readFresh()).toEqual({ tools: undefined, warned: [expect.stringContaining('gone')] });
    // Another list under this name, JSON that is no list, and bytes that are no JSON.
    for (const junk of [JSON.stringify([{ name: 'evil', server: 0, inputSchema: {} }]), '{"a":1}', 'not json']) {
      await backend.set(key, junk, 60_000);
      expect(await readFresh()).toEqual({ tools: undefined, warned: [expect.stringContaining('corrupt')] });
    }
    await backend.set(key, json, 60_000);
    expect((await readFresh()).tools).toEqual(listed());

    // A list that is what its name says but names a server this session does not have.
    const foreign = JSON.stringify([{ name: 'add', server: 3, inputSchema: {} }]);
    await backend.set(toolListKey(digestOf(foreign)), foreign, 60_000);
    const record = { ...(await recordOf(backend, 'u')), toolList: { sha256: digestOf(foreign) } };
    await backend.set(sessionKeys('u').session, JSON.stringify(record), 60_000);
    expect(await readFresh()).toEqual({ tools: undefined, warned: [expect.stringContaining('does not fit')] });
    // Checked and warned about once, not on every turn.
    const logger = warnings();
    const store = new SessionStore(backend, { logger });
    for (let i = 0; i < 3; i++) expect((await store.requireSession('u')).tools).toBeUndefined();
    expect(logger.warned).toHaveLength(1);
  });

  it('keeps the tools in the record when the shared list cannot be stored', async () => {
    const memory = memoryBackend();
    const refusing: SessionBackend = {
      ...counted(memory),
      set: (key, value, ttlMs) =>
        key.startsWith('tools:')
          ? Promise.reject(new LlmChatError('BACKEND_UNAVAILABLE', 'Session storage is full.'))
          : memory.set(key, value, ttlMs),
    };
    const logger = warnings();
    const created = await new SessionStore(refusing, { logger }).createSession('u', config, { tools: listed() });
    expect(created.tools).toEqual(listed());
    const record = await recordOf(memory, 'u');
    expect(record.toolList).toBeUndefined();
    expect(record.tools).toEqual(listed());
    expect(logger.warned).toEqual([expect.stringContaining('Could not store a shared tool list')]);
    expect((await new SessionStore(memory).requireSession('u')).tools).toEqual(listed());
  });

  it('turns a backend failure while reading a list into BACKEND_UNAVAILABLE', async () => {
    const memory = memoryBackend();
    await new SessionStore(memory).createSession('u', config, { tools: listed() });
    const failing: SessionBackend = {
      ...counted(memory),
      get: (key) => (key.startsWith('tools:') ? Promise.reject(new Error('connection reset')) : memory.get(key)),
    };
    await expect(new SessionStore(failing).requireSession('u')).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
  });

  it('renews a list read by turns at most once a session TTL, and writes it again when it vanished', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance', 'setTimeout', 'setInterval', 'clearInterval'] });
    const backend = counted(memoryBackend());
    const store = new SessionStore(backend, { sessionTtlMs: 10_000, historyTtlMs: 60_000 });
    await store.createSession('u', config, { tools: listed() });
    const digest = ((await recordOf(backend, 'u')).toolList as { sha256: string }).sha256;
    const key = toolListKey(digest);
    const renewals = () => backend.calls.filter((call) => call === `touch ${key}` || call === `set ${key}`).length;
    expect(renewals()).toBe(1);

    // Turns keep the session alive (each touches it) and read it.
    const turn = async (afterMs: number) => {
      vi.advanceTimersByTime(afterMs);
      await store.requireSession('u');
      await store.touchSession('u');
    };
    await turn(0);
    await turn(9_000);
    expect(renewals()).toBe(1);
    await turn(1_000);
    await turn(0);
    await vi.advanceTimersByTimeAsync(0);
    expect(renewals()).toBe(2);

    // Gone meanwhile (evicted, deleted by hand): the renewal writes it again.
    await backend.delete([key]);
    await turn(5_000);
    vi.advanceTimersByTime(5_000);
    await store.requireSession('u');
    await vi.advanceTimersByTimeAsync(0);
    expect(backend.calls.slice(-2)).toEqual([`touch ${key}`, `set ${key}`]);
    expect(JSON.parse(String(await backend.get(key)))).toEqual(listed());
  });

  it('reads a list whose renewal fails, warns, and renews it on the next read', async () => {
    const memory = memoryBackend();
    await new SessionStore(memory).createSession('u', config, { tools: listed() });
    let touches = 0;
    const failing: SessionBackend = {
      ...counted(memory),
      touch: (key) => {
        touches++;
        if (key.startsWith('tools:')) throw new Error('connection reset');
        return Promise.resolve(true);
      },
    };
    const logger = warnings();
    const store = new SessionStore(failing, { logger });
    expect((await store.requireSession('u')).tools).toEqual(listed());
    await new Promise((resolve) => setImmediate(resolve));
    expect(logger.warned).toEqual(['Could not renew a stored tool list.']);
    expect((await store.requireSession('u')).tools).toEqual(listed());
    await new Promise((resolve) => setImmediate(resolve));
    expect(touches).toBe(2);
  });

  it('lets a list live longer than the sessions that name it, on Redis', async () => {
    const redis = new RedisMock();
    const prefix = `shared-tools-${Date.now()}:`;
    try {
      const store = new SessionStore(new RedisSessionBackend(redis, { keyPrefix: prefix }), {
        sessionTtlMs: 5_000,
        historyTtlMs: 60_000,
      });
      await store.createSession('u', config, { tools: listed() });
      const record = JSON.parse(String(await redis.get(`${prefix}${sessionKeys('u').session}`)));
      const key = `${prefix}${toolListKey(record.toolList.sha256)}`;
      // Four session TTLs: two more than the longest a used session goes without renewing it.
      expect(await redis.pttl(key)).toBeGreaterThan(15_000);
      expect(await redis.pttl(key)).toBeLessThanOrEqual(20_000);
      expect(await redis.pttl(`${prefix}${sessionKeys('u').session}`)).toBeLessThanOrEqual(5_000);
      // A second process on the same Redis reads the same tools.
      const other = new SessionStore(new RedisSessionBackend(redis, { keyPrefix: prefix }));
      expect((await other.requireSession('u')).tools).toEqual(listed());
    } finally {
      await redis.flushall();
      redis.disconnect();
    }
  });

  it('remembers a list stored by connects at once one time, so later turns read nothing', async () => {
    const backend = counted(memoryBackend());
    const json = JSON.stringify(listed());
    const lists = new SharedToolLists(backend, { ttlMs: 60_000, renewAfterMs: 10_000, maxChars: 2 * json.length });
    const stored = await Promise.all(Array.from({ length: 6 }, () => lists.store(listed())));
    const digest = stored[0]?.digest as string;
    const other = JSON.stringify([{ name: 'other', server: 0, inputSchema: {} }]);
    await lists.store(JSON.parse(other));
    backend.calls.length = 0;
    for (let i = 0; i < 10; i++) expect(lists.get(digest)).toBe(stored[0]?.tools);
    expect(backend.calls).toEqual([]);
  });

  it('stores at most its share of new lists a TTL, and leaves the rest in their records', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] });
    const variant = (i: number) => listed().map((tool) => ({ ...tool, description: `variant ${i}` }));
    const lists = new SharedToolLists(memoryBackend(), {
      ttlMs: 60_000,
      renewAfterMs: 10_000,
      maxNewCharsPerTtl: 2 * JSON.stringify(variant(1)).length,
    });
    expect(await lists.store(variant(1))).toBeDefined();
    expect(await lists.store(variant(2))).toBeDefined();
    expect(await lists.store(variant(3))).toBeUndefined();
    // A list it knows is no new list.
    expect(await lists.store(variant(1))).toBeDefined();
    vi.advanceTimersByTime(60_000);
    expect(await lists.store(variant(3))).toBeDefined();

    // Through a store, whose share is 16 M characters: a list that fills it is shared, the next
    // new one stays in its record and reads back whole.
    const memory = memoryBackend();
    const full = new SessionStore(memory);
    const overhead = JSON.stringify([{ name: 'big', server: 0, description: '', inputSchema: {} }]).length;
    const filling = [
      { name: 'big', server: 0, description: 'x'.repeat(16 * 1024 * 1024 - overhead - 50), inputSchema: {} },
    ];
    await full.createSession('filler', config, { tools: filling });
    expect((await recordOf(memory, 'filler')).toolList).toBeDefined();
    await full.createSession('later', config, { tools: variant(4) });
    const later = await recordOf(memory, 'later');
    expect(later.toolList).toBeUndefined();
    expect(later.tools).toEqual(variant(4));
    expect((await new SessionStore(memory).requireSession('later')).tools).toEqual(variant(4));
  });

  it('tries a gone list again only after a session TTL, warning once', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] });
    const backend = counted(memoryBackend());
    await new SessionStore(backend, { sessionTtlMs: 10_000 }).createSession('u', config, { tools: listed() });
    const digest = ((await recordOf(backend, 'u')).toolList as { sha256: string }).sha256;
    await backend.delete([toolListKey(digest)]);
    const logger = warnings();
    const store = new SessionStore(backend, { sessionTtlMs: 10_000, logger });
    backend.calls.length = 0;
    for (let i = 0; i < 3; i++) expect((await store.requireSession('u')).tools).toBeUndefined();
    expect(backend.calls.filter((call) => call.startsWith('get tools:'))).toHaveLength(1);
    expect(logger.warned).toHaveLength(1);
    vi.advanceTimersByTime(5_000);
    await store.touchSession('u');
    vi.advanceTimersByTime(5_000);
    expect((await store.requireSession('u')).tools).toBeUndefined();
    expect(backend.calls.filter((call) => call.startsWith('get tools:'))).toHaveLength(2);
  });

  it('reads a list nested deeper than the stack allows as corrupt, not as a storage failure', async () => {
    const backend = memoryBackend();
    await new SessionStore(backend).createSession('u', config, { tools: listed() });
    const depth = 20_000;
    const json = `[{"name":"deep","server":0,"inputSchema":${'{"d":'.repeat(depth)}{}${'}'.repeat(depth)}}]`;
    const digest = digestOf(json);
    await backend.set(toolListKey(digest), json, 60_000);
    const record = { ...(await recordOf(backend, 'u')), toolList: { sha256: digest } };
    await backend.set(sessionKeys('u').session, JSON.stringify(record), 60_000);
    const logger = warnings();
    expect((await new SessionStore(backend, { logger }).requireSession('u')).tools).toBeUndefined();
    expect(logger.warned).toEqual([expect.stringContaining('corrupt')]);
  });
});
