import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConnectionCache } from '../../src/chat/connection-cache.js';

function conn(name: string) {
  const value = {
    name,
    closed: false,
    close: async () => {
      value.closed = true;
    },
  };
  return value;
}
type Conn = ReturnType<typeof conn>;

let cache: ConnectionCache<Conn> | undefined;
afterEach(async () => {
  vi.useRealTimers();
  await cache?.close();
  cache = undefined;
});

describe('ConnectionCache', () => {
  it('builds once for concurrent requests of the same version, and reuses the entry', async () => {
    cache = new ConnectionCache<Conn>();
    let builds = 0;
    const build = async () => {
      builds += 1;
      await new Promise((resolve) => setTimeout(resolve, 5));
      return conn('a');
    };
    const [one, two] = await Promise.all([cache.acquire('u', 'v1', build), cache.acquire('u', 'v1', build)]);
    expect(builds).toBe(1);
    expect(one.value).toBe(two.value);
    one.release();
    two.release();
    const again = await cache.acquire('u', 'v1', build);
    expect(builds).toBe(1);
    again.release();
  });

  it('replaces a stale version, closing the old entry only once its users are done', async () => {
    cache = new ConnectionCache<Conn>();
    const old = await cache.acquire('u', 'v1', async () => conn('old'));
    const fresh = await cache.acquire('u', 'v2', async () => conn('new'));
    expect(fresh.value.name).toBe('new');
    expect(old.value.closed).toBe(false);
    old.release();
    await vi.waitFor(() => expect(old.value.closed).toBe(true));
    expect(fresh.value.closed).toBe(false);
    fresh.release();
  });

  it('does not keep a failed build', async () => {
    cache = new ConnectionCache<Conn>();
    await expect(cache.acquire('u', 'v1', async () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    const lease = await cache.acquire('u', 'v1', async () => conn('ok'));
    expect(lease.value.name).toBe('ok');
    lease.release();
  });

  it('closes idle entries after idleMs but never one in use', async () => {
    vi.useFakeTimers();
    cache = new ConnectionCache<Conn>({ idleMs: 1000 });
    const idle = await cache.acquire('idle', 'v', async () => conn('idle'));
    idle.release();
    const busy = await cache.acquire('busy', 'v', async () => conn('busy'));
    await vi.advanceTimersByTimeAsync(2500);
    expect(idle.value.closed).toBe(true);
    expect(busy.value.closed).toBe(false);
    expect(cache.size).toBe(1);
    busy.release();
  });

  it('holds at most `max` entries, dropping the least recently used idle ones', async () => {
    cache = new ConnectionCache<Conn>({ max: 2 });
    const a = await cache.acquire('a', 'v', async () => conn('a'));
    a.release();
    const b = await cache.acquire('b', 'v', async () => conn('b'));
    b.release();
    const c = await cache.acquire('c', 'v', async () => conn('c'));
    await vi.waitFor(() => expect(a.value.closed).toBe(true));
    expect(b.value.closed).toBe(false);
    expect(cache.size).toBe(2);
    c.release();
  });

  it('never closes the entry it hands out: with every other one in use it holds more than `max`, until they come free', async () => {
    cache = new ConnectionCache<Conn>({ max: 1 });
    const a = await cache.acquire('a', 'v', async () => conn('a'));
    const b = await cache.acquire('b', 'v', async () => conn('b'));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect([a.value.closed, b.value.closed]).toEqual([false, false]);
    expect(cache.size).toBe(2);
    b.release();
    // Free now, and over the bound: the least recently used free one goes.
    await vi.waitFor(() => expect(b.value.closed).toBe(true));
    expect(cache.size).toBe(1);
    expect(a.value.closed).toBe(false);
    a.release();
  });

  it('evict() and close() close what they drop', async () => {
    cache = new ConnectionCache<Conn>();
    const a = await cache.acquire('a', 'v', async () => conn('a'));
    a.release();
    cache.evict('a');
    await vi.waitFor(() => expect(a.value.closed).toBe(true));
    const b = await cache.acquire('b', 'v', async () => conn('b'));
    b.release();
    await cache.close();
    expect(b.value.closed).toBe(true);
  });
});
