import { describe, expect, it, vi } from 'vitest';
import { type PushSource, pullFrom } from '../../src/internal/push-source.js';
import { type ChunkSink, type PipeableChunks, pipeableSseChunks, sseChunks } from '../../src/sse/sse-chunks.js';
import { chunksToStream } from '../../src/sse/to-sse-stream.js';

/** A push source the test feeds by hand: what it holds is handed over when drained. */
function pushQueue<T>() {
  const items: T[] = [];
  let ended = false;
  let failure: { error: unknown } | undefined;
  let wake: (() => void) | undefined;
  const state = { closed: 0, drains: 0 };
  const poke = () => {
    const reader = wake;
    wake = undefined;
    reader?.();
  };
  const source: PushSource<T> = {
    drain(take) {
      state.drains++;
      if (failure) throw failure.error;
      while (items.length > 0) if (!take(items.shift() as T)) return ended && items.length === 0;
      return ended;
    },
    onReady(reader) {
      wake = reader;
    },
    close() {
      state.closed++;
      wake = undefined;
    },
  };
  return {
    source,
    state,
    push(...values: T[]) {
      items.push(...values);
      poke();
    },
    end() {
      ended = true;
      poke();
    },
    fail(error: unknown) {
      failure = { error };
      poke();
    },
  };
}

/** A sink that records what it got, refusing more once `full` is set. */
function recordingSink() {
  const sink = { chunks: [] as string[], ended: [] as unknown[], full: false };
  const target: ChunkSink = {
    write(chunk) {
      sink.chunks.push(chunk);
      return !sink.full;
    },
    end(...args: unknown[]) {
      sink.ended.push(args.length === 0 ? 'ok' : args[0]);
    },
  };
  return { sink, target };
}

const encode = (item: string) => `data: ${item}\n\n`;

describe('pipeableSseChunks over a push source, piped to a sink', () => {
  it('writes each item to the sink in the step that pushes it, then ends the sink', () => {
    const queue = pushQueue<string>();
    const chunks = pipeableSseChunks(queue.source, { encode, keepAliveMs: 0 });
    const { sink, target } = recordingSink();
    chunks.pipe(target);
    queue.push('a');
    // No await between the push and this check: the frame is on the sink already.
    expect(sink.chunks).toEqual(['data: a\n\n']);
    queue.push('b', 'c');
    expect(sink.chunks).toEqual(['data: a\n\n', 'data: b\n\n', 'data: c\n\n']);
    expect(sink.ended).toEqual([]);
    queue.end();
    expect(sink.ended).toEqual(['ok']);
  });

  it('buffers while the sink is full, writes the buffer as one chunk on resume, and stops draining at the high-water mark', () => {
    const queue = pushQueue<string>();
    const chunks = pipeableSseChunks(queue.source, { encode, keepAliveMs: 0, highWaterMark: 20 });
    const { sink, target } = recordingSink();
    chunks.pipe(target);
    sink.full = true;
    queue.push('first');
    expect(sink.chunks).toEqual(['data: first\n\n']);
    queue.push('b', 'c', 'd', 'e');
    // Paused: 'b' to 'd' take the buffer past 20 characters, and 'e' stays in the source.
    expect(sink.chunks).toHaveLength(1);
    sink.full = false;
    chunks.resume();
    // The buffer goes out as one chunk; 'e', drained after it, on its own.
    expect(sink.chunks).toEqual(['data: first\n\n', 'data: b\n\ndata: c\n\ndata: d\n\n', 'data: e\n\n']);
    queue.end();
    expect(sink.ended).toEqual(['ok']);
  });

  it('holds the end back until the buffered frames are written', () => {
    const queue = pushQueue<string>();
    const chunks = pipeableSseChunks(queue.source, { encode, keepAliveMs: 0 });
    const { sink, target } = recordingSink();
    chunks.pipe(target);
    sink.full = true;
    queue.push('a', 'b');
    queue.end();
    expect(sink.ended).toEqual([]);
    sink.full = false;
    chunks.resume();
    expect(sink.chunks).toEqual(['data: a\n\n', 'data: b\n\n']);
    expect(sink.ended).toEqual(['ok']);
  });

  it('ends the sink with the source failure, or writes it as the last frame with encodeError', () => {
    const plain = pushQueue<string>();
    const failing = recordingSink();
    pipeableSseChunks(plain.source, { encode, keepAliveMs: 0 }).pipe(failing.target);
    const boom = new Error('boom');
    plain.fail(boom);
    expect(failing.sink.ended).toEqual([boom]);

    const framed = pushQueue<string>();
    const written = recordingSink();
    pipeableSseChunks(framed.source, {
      encode,
      encodeError: (error) => `event: error\ndata: ${(error as Error).message}\n\n`,
      keepAliveMs: 0,
    }).pipe(written.target);
    framed.push('a');
    framed.fail(boom);
    expect(written.sink.chunks).toEqual(['data: a\n\n', 'event: error\ndata: boom\n\n']);
    expect(written.sink.ended).toEqual(['ok']);
    expect(framed.state.closed).toBe(1);
  });

  it('a cancel closes the source, calls onCancel and ends the sink once, with nothing written after', () => {
    const queue = pushQueue<string>();
    const onCancel = vi.fn();
    const chunks = pipeableSseChunks(queue.source, { encode, keepAliveMs: 0, onCancel });
    const { sink, target } = recordingSink();
    chunks.pipe(target);
    queue.push('a');
    void chunks.return?.();
    queue.push('b');
    queue.end();
    expect(sink.chunks).toEqual(['data: a\n\n']);
    expect(sink.ended).toEqual(['ok']);
    expect(queue.state.closed).toBe(1);
    expect(onCancel).toHaveBeenCalledTimes(1);
  });

  it('a cancel by the signal ends the sink, and a sink piped after the end is ended at once', () => {
    const queue = pushQueue<string>();
    const controller = new AbortController();
    const chunks = pipeableSseChunks(queue.source, { encode, keepAliveMs: 0, signal: controller.signal });
    const { sink, target } = recordingSink();
    chunks.pipe(target);
    controller.abort();
    expect(sink.ended).toEqual(['ok']);

    const over = pipeableSseChunks(pushQueue<string>().source, { encode, keepAliveMs: 0 });
    void over.return?.();
    const late = recordingSink();
    over.pipe(late.target);
    expect(late.sink.ended).toEqual(['ok']);
  });

  it('a sink whose write throws is dropped like a client that left: no throw reaches the source', () => {
    const queue = pushQueue<string>();
    const onCancel = vi.fn();
    const chunks = pipeableSseChunks(queue.source, { encode, keepAliveMs: 0, onCancel });
    chunks.pipe({
      write() {
        throw new Error('socket gone');
      },
      end() {},
    });
    expect(() => queue.push('a')).not.toThrow();
    expect(onCancel).toHaveBeenCalledTimes(1);
    expect(queue.state.closed).toBe(1);
  });

  it('a resume during a write (the reader asking again at once) keeps the sink flowing', () => {
    const queue = pushQueue<string>();
    const chunks = pipeableSseChunks(queue.source, { encode, keepAliveMs: 0 });
    const written: string[] = [];
    let asks = 2;
    chunks.pipe({
      write(chunk) {
        written.push(chunk);
        // Like a web stream with a second read waiting: the enqueue pulls again, synchronously.
        if (--asks > 0) chunks.resume();
        return false;
      },
      end() {},
    });
    queue.push('a');
    queue.push('b');
    expect(written).toEqual(['data: a\n\n', 'data: b\n\n']);
    queue.push('c');
    // The second write asked for nothing more: 'c' waits for the next resume.
    expect(written).toHaveLength(2);
    chunks.resume();
    expect(written).toEqual(['data: a\n\n', 'data: b\n\n', 'data: c\n\n']);
  });

  it('writes a ping to an idle sink, and none to a full one', () => {
    vi.useFakeTimers();
    try {
      const queue = pushQueue<string>();
      const chunks = pipeableSseChunks(queue.source, { encode, keepAliveMs: 1000 });
      const { sink, target } = recordingSink();
      chunks.pipe(target);
      vi.advanceTimersByTime(1000);
      expect(sink.chunks).toEqual([': ping\n\n']);
      sink.full = true;
      queue.push('a');
      vi.advanceTimersByTime(3000);
      expect(sink.chunks).toEqual([': ping\n\n', 'data: a\n\n']);
      void chunks.return?.();
    } finally {
      vi.useRealTimers();
    }
  });

  it('refuses a second reader', () => {
    const chunks = pipeableSseChunks(pushQueue<string>().source, { encode, keepAliveMs: 0 });
    chunks.pipe(recordingSink().target);
    expect(() => chunks.pipe(recordingSink().target)).toThrow(TypeError);
  });

  it('a push source read with next() gives what it holds, then waits for more', async () => {
    const queue = pushQueue<string>();
    const chunks = pipeableSseChunks(queue.source, { encode, keepAliveMs: 0 });
    queue.push('a', 'b');
    expect(await chunks.next()).toEqual({ done: false, value: 'data: a\n\ndata: b\n\n' });
    const pending = chunks.next();
    queue.push('c');
    expect(await pending).toEqual({ done: false, value: 'data: c\n\n' });
    queue.end();
    expect(await chunks.next()).toEqual({ done: true, value: undefined });
  });
});

describe('pullFrom', () => {
  it('reads a push source one item a step until it ends, then closes it', async () => {
    const queue = pushQueue<number>();
    const seen: number[] = [];
    const reading = (async () => {
      for await (const item of pullFrom(queue.source)) seen.push(item);
    })();
    queue.push(1, 2);
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual([1, 2]);
    queue.push(3);
    queue.end();
    await reading;
    expect(seen).toEqual([1, 2, 3]);
    expect(queue.state.closed).toBe(1);
  });

  it('ends at once when its signal aborts while it waits, and throws what the source throws', async () => {
    const queue = pushQueue<number>();
    const controller = new AbortController();
    const reading = (async () => {
      const seen: number[] = [];
      for await (const item of pullFrom(queue.source, controller.signal)) seen.push(item);
      return seen;
    })();
    queue.push(1);
    await new Promise((resolve) => setImmediate(resolve));
    controller.abort();
    expect(await reading).toEqual([1]);
    expect(queue.state.closed).toBe(1);

    const failing = pushQueue<number>();
    failing.fail(new Error('lost'));
    await expect(pullFrom(failing.source).next()).rejects.toThrow('lost');
    expect(failing.state.closed).toBe(1);
  });
});

describe('sseChunks and chunksToStream', () => {
  it('pulls a public source even when it has a drain method of its own', async () => {
    const source = {
      drain: () => {
        throw new Error('not a push source');
      },
      async *[Symbol.asyncIterator]() {
        yield 'a';
      },
    };
    const chunks = sseChunks(source, { encode, keepAliveMs: 0 });
    expect(await chunks.next()).toEqual({ done: false, value: 'data: a\n\n' });
  });

  it("pipes sseChunks' chunks into the web stream of chunksToStream", async () => {
    const chunks = sseChunks(
      (async function* () {
        yield 'a';
      })(),
      { encode, keepAliveMs: 0 },
    );
    const pipe = vi.spyOn(chunks as PipeableChunks, 'pipe');
    const reader = chunksToStream(chunks).getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: a\n\n');
    expect((await reader.read()).done).toBe(true);
    expect(pipe).toHaveBeenCalledTimes(1);
  });
});
