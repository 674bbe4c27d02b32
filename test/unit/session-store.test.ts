import RedisMock from 'ioredis-mock';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { LlmChatError } from '../../src/errors.js';
import { RedisSessionBackend } from '../../src/redis/redis-session-backend.js';
import { MemorySessionBackend } from '../../src/session/memory-session-backend.js';
import type { SessionBackend } from '../../src/session/session-backend.js';
import { historyKey, sessionKeys } from '../../src/session/session-keys.js';
import { SessionStore } from '../../src/session/session-store.js';
import type { SessionConfig } from '../../src/types.js';

const config: SessionConfig = {
  servers: [{ url: 'http://127.0.0.1:8000/mcp', authToken: 'tok-SECRET' }],
  model: 'gpt-4o',
  streaming: false,
};

const opened: MemorySessionBackend[] = [];
afterAll(async () => {
  await Promise.all(opened.map((backend) => backend.close()));
});

function memoryBackend(): MemorySessionBackend {
  const backend = new MemorySessionBackend();
  opened.push(backend);
  return backend;
}

/** A backend with only the required methods, recording calls. */
function minimalBackend(): SessionBackend & { calls: string[] } {
  const memory = memoryBackend();
  const calls: string[] = [];
  const record = <T>(name: string, result: T): T => {
    calls.push(name);
    return result;
  };
  return {
    calls,
    get: (key) => record('get', memory.get(key)),
    set: (key, value, ttlMs) => record('set', memory.set(key, value, ttlMs)),
    delete: (keys) => record('delete', memory.delete(keys)),
    getList: (key) => record('getList', memory.getList(key)),
    appendToList: (key, values, options) => record('appendToList', memory.appendToList(key, values, options)),
  };
}

describe('SessionStore (fake timers, memory backend)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('expires an idle session after sessionTtlMs and then reports SESSION_EXPIRED', async () => {
    vi.useFakeTimers();
    const store = new SessionStore(memoryBackend(), { sessionTtlMs: 300_000, historyTtlMs: 3_600_000 });
    await store.createSession('u', config);
    vi.advanceTimersByTime(299_999);
    expect(await store.getSession('u')).not.toBeNull();
    vi.advanceTimersByTime(1);
    await expect(store.requireSession('u')).rejects.toMatchObject({ code: 'SESSION_EXPIRED' });
    vi.advanceTimersByTime(3_600_000);
    await expect(store.requireSession('u')).rejects.toMatchObject({ code: 'SESSION_NOT_FOUND' });
  });

  it('keeps the expired marker alive even when history lives shorter than sessions', async () => {
    vi.useFakeTimers();
    const store = new SessionStore(memoryBackend(), { sessionTtlMs: 10_000, historyTtlMs: 1_000 });
    await store.createSession('u', config);
    vi.advanceTimersByTime(10_000);
    await expect(store.requireSession('u')).rejects.toMatchObject({ code: 'SESSION_EXPIRED' });
    vi.advanceTimersByTime(1_000);
    await expect(store.requireSession('u')).rejects.toMatchObject({ code: 'SESSION_NOT_FOUND' });
  });

  it('touchSession restarts the idle timer and reports a missing session', async () => {
    vi.useFakeTimers();
    const store = new SessionStore(memoryBackend(), { sessionTtlMs: 1_000 });
    await store.createSession('u', config);
    vi.advanceTimersByTime(900);
    expect(await store.touchSession('u')).toBe(true);
    vi.advanceTimersByTime(900);
    expect(await store.getSession('u')).not.toBeNull();
    expect(await store.touchSession('nobody')).toBe(false);
  });

  it('appendTurn refreshes the session TTL and history TTL', async () => {
    vi.useFakeTimers();
    const store = new SessionStore(memoryBackend(), { sessionTtlMs: 1_000, historyTtlMs: 2_000 });
    await store.createSession('u', config);
    vi.advanceTimersByTime(900);
    await store.appendTurn('u', [{ role: 'user', content: 'hi' }]);
    vi.advanceTimersByTime(900);
    expect(await store.getSession('u')).not.toBeNull();
    vi.advanceTimersByTime(1_100);
    expect(await store.getHistory('u')).toEqual([]);
  });
});

describe('SessionStore with a minimal backend', () => {
  it('appendTurn is a single backend call carrying the trim and TTL refreshes', async () => {
    const backend = minimalBackend();
    const append = vi.spyOn(backend, 'appendToList');
    const store = new SessionStore(backend, { sessionTtlMs: 1_000, historyTtlMs: 5_000, maxHistoryTurns: 7 });
    await store.appendTurn('u', [{ role: 'user', content: 'hi' }]);
    const keys = sessionKeys('u');
    expect(backend.calls).toEqual(['appendToList']);
    expect(append).toHaveBeenCalledWith(keys.history, [JSON.stringify([{ role: 'user', content: 'hi' }])], {
      ttlMs: 5_000,
      maxLength: 7,
      touch: [
        { key: keys.session, ttlMs: 1_000 },
        { key: keys.seen, ttlMs: 6_000 },
      ],
    });
    await store.appendTurn('u', []);
    expect(backend.calls).toHaveLength(1);
  });

  it('falls back to get + set when the backend has no touch', async () => {
    const backend = minimalBackend();
    const store = new SessionStore(backend);
    await store.createSession('u', config);
    backend.calls.length = 0;
    expect(await store.touchSession('u')).toBe(true);
    expect(backend.calls).toEqual(['get', 'set', 'get', 'set']);
  });

  it('wraps a plain backend failure as BACKEND_UNAVAILABLE and passes LlmChatErrors through', async () => {
    const backend = minimalBackend();
    backend.get = async () => {
      throw new Error('ECONNREFUSED redis://:password@10.0.0.1');
    };
    const store = new SessionStore(backend);
    const error = await store.getSession('u').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'BACKEND_UNAVAILABLE', message: 'Session storage is unavailable.' });
    const own = new LlmChatError('BACKEND_UNAVAILABLE', 'The storage backend did not answer in time.');
    backend.get = async () => {
      throw own;
    };
    await expect(store.requireSession('u')).rejects.toBe(own);
  });

  it('refuses an invalid configuration and invalid options', async () => {
    const store = new SessionStore(minimalBackend());
    await expect(store.createSession('u', { servers: 'x' } as unknown as SessionConfig)).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
    });
    expect(() => new SessionStore(minimalBackend(), { maxHistoryTurns: 0 })).toThrowError(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
    expect(() => new SessionStore(minimalBackend(), { sealKey: new Uint8Array(5) })).toThrowError(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
  });

  it('keeps the tools listed at connect with the session, and refuses ones that do not fit its servers', async () => {
    const store = new SessionStore(minimalBackend(), { sealKey: 'k' });
    const tools = [
      {
        name: 'add',
        server: 0,
        description: 'Adds.',
        inputSchema: { type: 'object' },
        annotations: { readOnlyHint: true },
      },
      { name: 'echo', server: 0, inputSchema: { type: 'object', properties: { m: { type: 'string' } } } },
    ];
    const created = await store.createSession('u', config, { tools });
    expect(created.tools).toEqual(tools);
    expect((await store.requireSession('u')).tools).toEqual(tools);
    // Without tools (what older versions wrote), the session has none.
    await store.createSession('v', config);
    expect((await store.requireSession('v')).tools).toBeUndefined();
    await expect(
      store.createSession('w', config, { tools: [{ name: 'add', server: 1, inputSchema: {} }] }),
    ).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });

  it.each([
    ['a tool with an empty name', [{ name: '', server: 0, inputSchema: {} }]],
    ['a description that is not text', [{ name: 'add', server: 0, description: 7, inputSchema: {} }]],
    ['an input schema that is not an object', [{ name: 'add', server: 0, inputSchema: 'any' }]],
  ])('refuses %s before it replaces the working session, shared or kept in the record', async (_, bad) => {
    // The second store cannot write shared lists, so its records keep their tools.
    const refusingLists = minimalBackend();
    const set = refusingLists.set;
    refusingLists.set = (key, value, ttlMs) =>
      key.startsWith('tools:') ? Promise.reject(new Error('full')) : set(key, value, ttlMs);
    for (const store of [new SessionStore(minimalBackend()), new SessionStore(refusingLists)]) {
      const good = [{ name: 'add', server: 0, inputSchema: { type: 'object' } }];
      const working = await store.createSession('u', config, { tools: good });
      await expect(store.createSession('u', config, { tools: bad as never })).rejects.toMatchObject({
        code: 'CONFIG_INVALID',
      });
      const kept = await store.requireSession('u');
      expect(kept.version).toBe(working.version);
      expect(kept.tools).toEqual(good);
    }
  });

  it('reads a record nested deeper than the stack allows as invalid, and skips such a history entry', async () => {
    const deep = (depth: number) => `${'{"d":'.repeat(depth)}{}${'}'.repeat(depth)}`;
    const backend = memoryBackend();
    const lines: string[] = [];
    const store = new SessionStore(backend, { logger: { warn: (message) => void lines.push(message) } });
    await store.createSession('u', config);
    await store.appendTurn('u', [
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'hello' },
    ]);
    await backend.appendToList(historyKey('u'), [`[{"role":"user","content":"x","extra":${deep(20_000)}}]`], {
      ttlMs: 60_000,
    });
    expect(await store.getHistory('u')).toEqual([
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'hello' },
    ]);
    expect(lines).toContain('Skipped a corrupt chat history entry.');
    const record = await backend.get(sessionKeys('u').session);
    const deepTools = `"tools":[{"name":"t","server":0,"inputSchema":${deep(6_000)}}]`;
    await backend.set(sessionKeys('u').session, (record as string).replace(/^\{/, `{${deepTools},`), 60_000);
    await expect(store.getSession('u')).rejects.toMatchObject({ code: 'SESSION_INVALID' });
  });

  it('gives sessions with equal tool lists one shared, frozen list, and each other list its own', async () => {
    const store = new SessionStore(minimalBackend());
    const listed = () => [
      { name: 'add', server: 0, description: 'Adds.', inputSchema: { type: 'object', properties: { a: {} } } },
      { name: 'echo', server: 0, inputSchema: { type: 'object' } },
    ];
    await store.createSession('alice', config, { tools: listed() });
    await store.createSession('bob', config, { tools: listed() });
    await store.createSession('carol', config, { tools: [{ name: 'other', server: 0, inputSchema: {} }] });
    const alice = (await store.requireSession('alice')).tools;
    const bob = (await store.requireSession('bob')).tools;
    const carol = (await store.requireSession('carol')).tools;
    expect(alice).toEqual(listed());
    expect(bob).toBe(alice);
    expect(carol).not.toBe(alice);
    expect(carol).toEqual([{ name: 'other', server: 0, inputSchema: {} }]);
    // Shared, so nobody may change it for the others.
    expect(Object.isFrozen(alice)).toBe(true);
    expect(Object.isFrozen(alice?.[0]?.inputSchema.properties)).toBe(true);
  });

  it('reads back a session it just created without parsing it again, exactly as another store decodes it', async () => {
    const backend = minimalBackend();
    const store = new SessionStore(backend, { sealKey: 'k' });
    const tools = [{ name: 'add', server: 0, inputSchema: { type: 'object' } }];
    const created = await store.createSession('u', config, { tools });
    const parse = vi.spyOn(JSON, 'parse');
    try {
      const read = await store.requireSession('u');
      expect(parse).not.toHaveBeenCalled();
      // The same value a store that did not write it decodes (unsealed secrets included).
      const decoded = await new SessionStore(backend, { sealKey: 'k' }).requireSession('u');
      expect(parse).toHaveBeenCalled();
      expect(read).toEqual(decoded);
      expect(read).toEqual(created);
      expect(read.config.servers[0]?.authToken).toBe('tok-SECRET');
    } finally {
      parse.mockRestore();
    }
  });

  it('decodes a turn it saved after the current event-loop turn, so the next history read does not parse it', async () => {
    const backend = minimalBackend();
    const store = new SessionStore(backend);
    await store.createSession('u', config);
    const turn = [
      { role: 'user' as const, content: 'add 2 and 3' },
      { role: 'assistant' as const, content: 'The result is 5.' },
    ];
    // A read right after the save, before the deferred decode ran, still decodes it itself.
    await store.appendTurn('u', turn);
    expect(await store.getHistory('u')).toEqual(turn);
    await store.appendTurn('u', [{ role: 'user', content: 'again' }]);
    await new Promise((resolve) => setImmediate(resolve));
    const parse = vi.spyOn(JSON, 'parse');
    try {
      const read = await store.getHistory('u');
      expect(parse).not.toHaveBeenCalled();
      // Exactly what a store that did not save it decodes from the same text.
      const decoded = await new SessionStore(backend).getHistory('u');
      expect(parse).toHaveBeenCalled();
      expect(read).toEqual(decoded);
      expect(read).toEqual([...turn, { role: 'user', content: 'again' }]);
    } finally {
      parse.mockRestore();
    }
  });

  it('does not leak record contents or the key into SESSION_INVALID messages', async () => {
    const backend = minimalBackend();
    const warn = vi.fn();
    await new SessionStore(backend, { sealKey: 'a' }).createSession('u', config);
    const error = await new SessionStore(backend, { sealKey: 'b', logger: { warn } })
      .getSession('u')
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'SESSION_INVALID',
      message: 'The stored session is invalid. Please reconnect.',
    });
    expect(JSON.stringify(warn.mock.calls)).not.toContain('tok-SECRET');
    expect(warn).toHaveBeenCalledOnce();
  });
});

describe('SessionStore over RedisSessionBackend (ioredis-mock)', () => {
  it('round-trips sessions and history through the Lua append (EVALSHA falls back to EVAL)', async () => {
    const redis = new RedisMock();
    const evalsha = vi.spyOn(redis, 'evalsha');
    const evalSpy = vi.spyOn(redis, 'eval');
    const prefix = `unit-${Math.random()}:`;
    const store = new SessionStore(new RedisSessionBackend(redis, { keyPrefix: prefix }), {
      sealKey: 'k',
      maxHistoryTurns: 2,
    });
    const tools = [{ name: 'add', server: 0, inputSchema: { type: 'object' } }];
    const created = await store.createSession('alice', config, { tools });
    expect(await store.requireSession('alice')).toEqual(created);
    // The version check of appends still finds the version in a record that carries tools.
    expect(
      await store.appendTurn('alice', [{ role: 'user', content: 'q0' }], { sessionVersion: created.version }),
    ).toBe(true);
    expect(await redis.get(`${prefix}{u:alice}:session`)).not.toContain('tok-SECRET');
    for (const n of [1, 2, 3]) {
      await store.appendTurn('alice', [
        { role: 'user', content: `q${n}` },
        { role: 'assistant', content: `a${n}` },
      ]);
    }
    expect((await store.getHistory('alice')).map((m) => m.content)).toEqual(['q2', 'a2', 'q3', 'a3']);
    expect(evalsha).toHaveBeenCalledTimes(4);
    // NOSCRIPT once, then the server has it cached, as on real Redis.
    expect(evalSpy).toHaveBeenCalledTimes(1);
    expect(await store.deleteSession('alice')).toBe(true);
    expect(
      await redis.exists(`${prefix}{u:alice}:session`, `${prefix}{u:alice}:history`, `${prefix}{u:alice}:seen`),
    ).toBe(0);
    redis.disconnect();
  });
});
