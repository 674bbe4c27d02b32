import { afterEach, describe, expect, it, vi } from 'vitest';
import { isLlmChatError } from '../../src/errors.js';
import { encodeSseEvent, sseChunks } from '../../src/sse/index.js';

/** A source the test drives by hand: counts pulls and records return(). */
function channel<T>() {
  const queue: IteratorResult<T>[] = [];
  let failure: { error: unknown } | undefined;
  let wake: (() => void) | undefined;
  const state = { pulled: 0, returned: 0 };
  const iterator: AsyncIterator<T> = {
    async next() {
      state.pulled++;
      while (queue.length === 0 && failure === undefined) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
      if (queue.length > 0) return queue.shift() as IteratorResult<T>;
      throw (failure as { error: unknown }).error;
    },
    async return() {
      state.returned++;
      return { done: true, value: undefined };
    },
  };
  const poke = () => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  };
  return {
    state,
    source: { [Symbol.asyncIterator]: () => iterator } as AsyncIterable<T>,
    push(value: T) {
      queue.push({ done: false, value });
      poke();
    },
    end() {
      queue.push({ done: true, value: undefined });
      poke();
    },
    fail(error: unknown) {
      failure = { error };
      poke();
    },
  };
}

const encode = (item: string) => encodeSseEvent({ event: 'token', data: { content: item } });
const frame = (item: string) => encode(item);

/** Lets pending promise chains and I/O callbacks run (real timers only). */
async function settle(rounds = 5): Promise<void> {
  for (let round = 0; round < rounds; round++) await new Promise((resolve) => setImmediate(resolve));
}

/** True once the promise has settled, checked without waiting for it. */
async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  await Promise.resolve();
  await Promise.resolve();
  return settled;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('sseChunks: delivery', () => {
  it('hands a waiting consumer each frame as it comes', async () => {
    const input = channel<string>();
    const chunks = sseChunks(input.source, { encode, keepAliveMs: 0 });
    const first = chunks.next();
    input.push('a');
    expect(await first).toEqual({ done: false, value: frame('a') });
    const second = chunks.next();
    input.push('b');
    expect(await second).toEqual({ done: false, value: frame('b') });
    input.end();
    expect(await chunks.next()).toEqual({ done: true, value: undefined });
  });

  it('coalesces frames a slow consumer missed into one chunk', async () => {
    async function* fast() {
      for (let index = 0; index < 10; index++) yield `t${index}`;
    }
    const chunks = sseChunks(fast(), { encode, keepAliveMs: 0 });
    const first = await chunks.next();
    expect(first.value).toBe(frame('t0'));
    await settle();
    const second = await chunks.next();
    expect(second.value).toBe(['t1', 't2', 't3', 't4', 't5', 't6', 't7', 't8', 't9'].map(frame).join(''));
    expect(await chunks.next()).toEqual({ done: true, value: undefined });
  });

  it('delivers buffered frames first, then throws the source error, then is done', async () => {
    const input = channel<string>();
    const chunks = sseChunks(input.source, { encode, keepAliveMs: 0 });
    const first = chunks.next();
    input.push('a');
    await first;
    input.push('b');
    input.push('c');
    const boom = new Error('source failed');
    input.fail(boom);
    await settle();
    expect((await chunks.next()).value).toBe(frame('b') + frame('c'));
    await expect(chunks.next()).rejects.toBe(boom);
    expect(await chunks.next()).toEqual({ done: true, value: undefined });
  });

  it('rejects a waiting consumer when the source fails', async () => {
    const input = channel<string>();
    const chunks = sseChunks(input.source, { encode, keepAliveMs: 0 });
    const pending = chunks.next();
    const boom = new Error('late failure');
    input.fail(boom);
    await expect(pending).rejects.toBe(boom);
  });

  it('turns an encode failure into the stream error and releases the source', async () => {
    const input = channel<string>();
    const failing = new Error('cannot encode');
    const chunks = sseChunks(input.source, {
      keepAliveMs: 0,
      encode: (item) => {
        if (item === 'bad') throw failing;
        return encode(item);
      },
    });
    const first = chunks.next();
    input.push('ok');
    expect((await first).value).toBe(frame('ok'));
    const second = chunks.next();
    input.push('bad');
    await expect(second).rejects.toBe(failing);
    expect(input.state.returned).toBe(1);
  });

  it('with encodeError, ends with the failure as a last frame instead of throwing it', async () => {
    const input = channel<string>();
    const failures: unknown[] = [];
    const chunks = sseChunks(input.source, {
      encode,
      keepAliveMs: 0,
      encodeError: (error) => {
        failures.push(error);
        return encodeSseEvent({ event: 'error', data: { error: (error as Error).message } });
      },
    });
    const first = chunks.next();
    input.push('a');
    expect((await first).value).toBe(frame('a'));
    input.push('b');
    const boom = new Error('lost');
    input.fail(boom);
    await settle();
    const last = encodeSseEvent({ event: 'error', data: { error: 'lost' } });
    expect(await chunks.next()).toEqual({ done: false, value: frame('b') + last });
    expect(await chunks.next()).toEqual({ done: true, value: undefined });
    expect(failures).toEqual([boom]);
  });

  it('throws the encodeError failure itself when encodeError cannot encode', async () => {
    const input = channel<string>();
    const broken = new Error('cannot encode the failure');
    const chunks = sseChunks(input.source, {
      encode,
      keepAliveMs: 0,
      encodeError: () => {
        throw broken;
      },
    });
    const pending = chunks.next();
    input.fail(new Error('lost'));
    await expect(pending).rejects.toBe(broken);
  });

  it('answers concurrent next() calls in order', async () => {
    const input = channel<string>();
    const chunks = sseChunks(input.source, { encode, keepAliveMs: 0 });
    const one = chunks.next();
    const two = chunks.next();
    input.push('a');
    expect((await one).value).toBe(frame('a'));
    await settle();
    input.push('b');
    expect((await two).value).toBe(frame('b'));
  });

  it('validates its options', () => {
    const source = channel<string>().source;
    for (const options of [{ keepAliveMs: -1 }, { keepAliveMs: Number.NaN }, { highWaterMark: 0 }]) {
      try {
        sseChunks(source, { encode, ...options });
        expect.unreachable();
      } catch (error) {
        expect(isLlmChatError(error) && error.code).toBe('CONFIG_INVALID');
      }
    }
  });
});

describe('sseChunks: backpressure', () => {
  it('stops pulling a 10 MB source while nobody reads, and resumes once drained', async () => {
    let pulled = 0;
    const kilobyte = 'x'.repeat(1024);
    async function* huge() {
      for (let index = 0; index < 10_240; index++) {
        pulled++;
        yield kilobyte;
      }
    }
    const chunks = sseChunks(huge(), { encode, keepAliveMs: 0, highWaterMark: 65_536 });
    await chunks.next();
    await settle(20);
    const stalledAt = pulled;
    // 64 KiB of ~1 KiB frames: the pump stops a little past the mark, far from the 10 240 items.
    expect(stalledAt).toBeGreaterThan(60);
    expect(stalledAt).toBeLessThan(70);
    await settle(20);
    expect(pulled).toBe(stalledAt);

    const big = await chunks.next();
    expect(big.value?.length).toBeGreaterThan(65_536);
    await settle(20);
    expect(pulled).toBeGreaterThan(stalledAt);
    expect(pulled).toBeLessThan(stalledAt + 70);
    await chunks.return?.();
  });
});

describe('sseChunks: cancel', () => {
  it('return() stops the pump, calls onCancel once and returns the source', async () => {
    const input = channel<string>();
    const onCancel = vi.fn();
    const chunks = sseChunks(input.source, { encode, keepAliveMs: 0, onCancel });
    const pending = chunks.next();
    await settle();
    expect(await chunks.return?.()).toEqual({ done: true, value: undefined });
    expect(await pending).toEqual({ done: true, value: undefined });
    await chunks.return?.();
    expect(onCancel).toHaveBeenCalledTimes(1);
    expect(input.state.returned).toBe(1);
    input.push('late');
    await settle();
    expect(await chunks.next()).toEqual({ done: true, value: undefined });
  });

  it('an aborted signal cancels like return() and drops buffered frames', async () => {
    const input = channel<string>();
    const controller = new AbortController();
    const onCancel = vi.fn();
    const chunks = sseChunks(input.source, { encode, keepAliveMs: 0, signal: controller.signal, onCancel });
    const first = chunks.next();
    input.push('a');
    await first;
    input.push('b');
    await settle();
    controller.abort();
    controller.abort();
    expect(await chunks.next()).toEqual({ done: true, value: undefined });
    await chunks.return?.();
    expect(onCancel).toHaveBeenCalledTimes(1);
    expect(input.state.returned).toBe(1);
  });

  it('a signal aborted up front cancels before any pull', async () => {
    const input = channel<string>();
    const onCancel = vi.fn();
    const chunks = sseChunks(input.source, { encode, signal: AbortSignal.abort(), onCancel });
    expect(await chunks.next()).toEqual({ done: true, value: undefined });
    expect(onCancel).toHaveBeenCalledTimes(1);
    expect(input.state.pulled).toBe(0);
  });

  it('does not wait for a generator parked in an await to finish returning', async () => {
    let finalized = false;
    let release: (() => void) | undefined;
    async function* parked() {
      try {
        yield 'a';
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        yield 'never delivered';
      } finally {
        finalized = true;
      }
    }
    const onCancel = vi.fn(() => release?.());
    const chunks = sseChunks(parked(), { encode, keepAliveMs: 0, onCancel });
    expect((await chunks.next()).value).toBe(frame('a'));
    const pending = chunks.next();
    await settle();
    // The generator is stuck in its await: return() must still answer at once.
    expect(await chunks.return?.()).toEqual({ done: true, value: undefined });
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(onCancel).toHaveBeenCalledTimes(1);
    // onCancel released the real work, so the generator reaches its yield and honours return().
    await settle();
    expect(finalized).toBe(true);
  });

  it('does not call onCancel after the stream finished normally', async () => {
    const input = channel<string>();
    const onCancel = vi.fn();
    const chunks = sseChunks(input.source, { encode, keepAliveMs: 0, onCancel });
    const pending = chunks.next();
    input.end();
    expect(await pending).toEqual({ done: true, value: undefined });
    await chunks.return?.();
    expect(onCancel).not.toHaveBeenCalled();
    expect(input.state.returned).toBe(0);
  });

  it('ignores an onCancel that throws', async () => {
    const input = channel<string>();
    const chunks = sseChunks(input.source, {
      encode,
      keepAliveMs: 0,
      onCancel: () => {
        throw new Error('callback bug');
      },
    });
    await expect(chunks.return?.()).resolves.toEqual({ done: true, value: undefined });
  });
});

describe('sseChunks: keep-alive', () => {
  it('sends `: ping` to a waiting consumer after keepAliveMs without a chunk', async () => {
    vi.useFakeTimers();
    const input = channel<string>();
    const chunks = sseChunks(input.source, { encode, keepAliveMs: 15_000 });
    const pending = chunks.next();
    await vi.advanceTimersByTimeAsync(14_999);
    expect(await isSettled(pending)).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await pending).toEqual({ done: false, value: ': ping\n\n' });
    const next = chunks.next();
    await vi.advanceTimersByTimeAsync(15_000);
    expect(await next).toEqual({ done: false, value: ': ping\n\n' });
    await chunks.return?.();
  });

  it('counts idle time from the last chunk handed out, not from the start', async () => {
    vi.useFakeTimers();
    const input = channel<string>();
    const chunks = sseChunks(input.source, { encode, keepAliveMs: 15_000 });
    const first = chunks.next();
    await vi.advanceTimersByTimeAsync(10_000);
    input.push('a');
    expect((await first).value).toBe(frame('a'));
    const second = chunks.next();
    await vi.advanceTimersByTimeAsync(14_000);
    expect(await isSettled(second)).toBe(false);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await second).toEqual({ done: false, value: ': ping\n\n' });
    await chunks.return?.();
  });

  it('gives an overdue ping at once to a consumer that was busy', async () => {
    vi.useFakeTimers();
    const input = channel<string>();
    const chunks = sseChunks(input.source, { encode, keepAliveMs: 15_000 });
    const first = chunks.next();
    input.push('a');
    await first;
    await vi.advanceTimersByTimeAsync(20_000);
    const late = chunks.next();
    expect(await isSettled(late)).toBe(true);
    expect(await late).toEqual({ done: false, value: ': ping\n\n' });
    await chunks.return?.();
  });

  it('uses one timer for many frames and clears it on return()', async () => {
    vi.useFakeTimers();
    const input = channel<string>();
    const chunks = sseChunks(input.source, { encode, keepAliveMs: 1_000 });
    const first = chunks.next();
    for (let index = 0; index < 50; index++) input.push(`t${index}`);
    await first;
    await vi.advanceTimersByTimeAsync(0);
    expect(vi.getTimerCount()).toBe(1);
    await chunks.next();
    expect(vi.getTimerCount()).toBe(1);
    await chunks.return?.();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('clears the timer when the source ends or fails, without return()', async () => {
    vi.useFakeTimers();
    for (const failing of [false, true]) {
      const input = channel<string>();
      const chunks = sseChunks(input.source, { encode, keepAliveMs: 1_000 });
      const first = chunks.next();
      input.push('a');
      await first;
      expect(vi.getTimerCount()).toBe(1);
      if (failing) input.fail(new Error('x'));
      else input.end();
      const last = await chunks.next().catch((error: unknown) => error);
      expect(failing ? last instanceof Error : (last as IteratorResult<string>).done).toBe(true);
      expect(vi.getTimerCount()).toBe(0);
    }
  });

  it('creates no timer when keepAliveMs is 0', async () => {
    vi.useFakeTimers();
    const input = channel<string>();
    const chunks = sseChunks(input.source, { encode, keepAliveMs: 0 });
    const pending = chunks.next();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(await isSettled(pending)).toBe(false);
    await chunks.return?.();
  });
});

describe('sseChunks onSettled', () => {
  it('fires once after the source ended, and after a cancelled source ran its finally', async () => {
    const log: string[] = [];
    async function* source(stall: Promise<void>) {
      try {
        yield 'a';
        await stall;
        yield 'b';
      } finally {
        await new Promise((resolve) => setTimeout(resolve, 5));
        log.push('source finally');
      }
    }

    const ended = sseChunks(source(Promise.resolve()), { encode, onSettled: () => log.push('settled') });
    for await (const _chunk of ended) {
      // drain
    }
    expect(log).toEqual(['source finally', 'settled']);

    log.length = 0;
    let release!: () => void;
    const stall = new Promise<void>((resolve) => {
      release = resolve;
    });
    const cancelled = sseChunks(source(stall), { encode, onSettled: () => log.push('settled') });
    await cancelled.next();
    await settle();
    await cancelled.return?.();
    expect(log).toEqual([]);
    // The source is parked in an await: only once it moves on does its finally run, then onSettled.
    release();
    await vi.waitFor(() => expect(log).toEqual(['source finally', 'settled']));
  });

  it('is not called for a stream nobody reads', async () => {
    let settled = false;
    async function* source() {
      yield 'x';
    }
    sseChunks(source(), { encode, onSettled: () => (settled = true) });
    await settle();
    expect(settled).toBe(false);
  });
});
