import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryMessageBus } from '../../src/bus/memory-message-bus.js';
import { MemoryLockBackend } from '../../src/lock/memory-lock-backend.js';
import { MemorySessionBackend } from '../../src/session/memory-session-backend.js';
import { memoryStorage } from '../../src/storage.js';
import { runLockBackendContract } from '../contract/lock-backend.contract.js';
import { runMessageBusContract } from '../contract/message-bus.contract.js';
import { runSessionBackendContract } from '../contract/session-backend.contract.js';

const opened: MemorySessionBackend[] = [];

afterAll(async () => {
  await Promise.all(opened.map((backend) => backend.close()));
});

runSessionBackendContract('memory', async () => {
  const backend = new MemorySessionBackend();
  opened.push(backend);
  return [backend, backend];
});

runLockBackendContract('memory', async () => {
  const backend = new MemoryLockBackend();
  return [backend, backend];
});

runMessageBusContract('memory', async () => {
  const bus = new MemoryMessageBus();
  return [bus, bus];
});

describe('MemorySessionBackend specifics', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('refuses a new key when full, with BACKEND_UNAVAILABLE and a warning, and evicts nobody', async () => {
    const warn = vi.fn();
    const backend = new MemorySessionBackend({ maxEntries: 3, logger: { warn } });
    opened.push(backend);
    await backend.set('long', 'x', 60_000);
    await backend.set('short', 'x', 1_000);
    await backend.appendToList('list', ['a'], { ttlMs: 30_000 });
    await expect(backend.set('new', 'x', 60_000)).rejects.toMatchObject({
      code: 'BACKEND_UNAVAILABLE',
      message: 'Session storage is full. Please try again later.',
    });
    await expect(backend.appendToList('new-list', ['b'], { ttlMs: 1_000 })).rejects.toMatchObject({
      code: 'BACKEND_UNAVAILABLE',
    });
    expect(warn).toHaveBeenCalledTimes(2);
    expect(backend.size).toBe(3);
    expect([await backend.get('long'), await backend.get('short'), await backend.getList('list')]).toEqual([
      'x',
      'x',
      ['a'],
    ]);
    // Keys that exist can still be written.
    await backend.set('short', 'y', 1_000);
    await backend.appendToList('list', ['b'], { ttlMs: 30_000 });
    expect([await backend.get('short'), await backend.getList('list')]).toEqual(['y', ['a', 'b']]);
  });

  it('makes room by dropping expired keys before live ones', async () => {
    vi.useFakeTimers();
    const backend = new MemorySessionBackend({ maxEntries: 2 });
    opened.push(backend);
    await backend.set('stale', 'x', 100);
    await backend.set('live', 'x', 10_000);
    vi.advanceTimersByTime(200);
    await backend.set('fresh', 'x', 1_000);
    expect(await backend.get('live')).toBe('x');
    expect(await backend.get('fresh')).toBe('x');
  });

  it('sweeps expired keys on its timer and stops the timer on close', async () => {
    vi.useFakeTimers();
    const backend = new MemorySessionBackend({ sweepIntervalMs: 1_000 });
    await backend.set('a', 'x', 500);
    await backend.appendToList('b', ['y'], { ttlMs: 500 });
    await backend.set('c', 'x', 5_000);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(1_000);
    expect(backend.size).toBe(1);
    await backend.close();
    expect(vi.getTimerCount()).toBe(0);
    expect(await backend.get('c')).toBe('x');
  });

  it('expires lazily on read, with no sweep needed', async () => {
    vi.useFakeTimers();
    const backend = new MemorySessionBackend({ sweepIntervalMs: 3_600_000 });
    opened.push(backend);
    await backend.set('k', 'v', 1_000);
    vi.advanceTimersByTime(999);
    expect(await backend.get('k')).toBe('v');
    vi.advanceTimersByTime(1);
    expect(await backend.get('k')).toBeNull();
    expect(backend.size).toBe(0);
  });

  it('rejects a maxEntries that is not a positive integer', () => {
    expect(() => new MemorySessionBackend({ maxEntries: 0 })).toThrowError(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
  });
});

describe('memoryStorage', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('returns working sessions, locks, bus and turn logs, and close() clears their timers', async () => {
    vi.useFakeTimers();
    const storage = memoryStorage({ maxEntries: 10 });
    await storage.sessions.set('k', 'v', 1_000);
    expect(await storage.sessions.get('k')).toBe('v');
    expect(await storage.locks.tryAcquire('k', 't', 1_000)).toBe(true);
    const heard: string[] = [];
    const unsubscribe = await storage.bus.subscribe('c', (message) => heard.push(message));
    await storage.bus.publish('c', 'm');
    await Promise.resolve();
    expect(heard).toEqual(['m']);
    await unsubscribe();
    await storage.turns?.append('t', [{ seq: 1, payload: '{}' }], { maxEvents: 10, ttlMs: 1_000 });
    expect(await storage.turns?.last('t')).toEqual({ seq: 1, payload: '{}' });
    // The sweeps of the session store and of the turn logs.
    expect(vi.getTimerCount()).toBe(2);
    await storage.close();
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('MemoryLockBackend specifics', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('lets a new holder take an expired lease without any timer', async () => {
    vi.useFakeTimers();
    const backend = new MemoryLockBackend();
    expect(await backend.tryAcquire('k', 'a', 1_000)).toBe(true);
    vi.advanceTimersByTime(1_000);
    expect(await backend.tryAcquire('k', 'b', 1_000)).toBe(true);
    expect(await backend.release('k', 'a')).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });
});
