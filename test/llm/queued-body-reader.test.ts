import { describe, expect, it } from 'vitest';
import { QueuedBodyReader } from '../../src/llm/queued-body-reader.js';

/** A body fed by hand: each `feed` is one chunk arriving, as undici's `onResponseData` hands it. */
class FedBody extends QueuedBodyReader {
  lettingGo = 0;
  /** Chunks the source gives back from inside `drained` (a paused source resumed and read on at once). */
  readonly onDrained: string[] = [];

  feed(text: string): void {
    this.enqueue(Buffer.from(text));
    this.answer();
  }

  end(): void {
    this.finish();
  }

  break(error: Error): void {
    this.fail(error);
  }

  protected override drained(): void {
    const next = this.onDrained.shift();
    if (next !== undefined) this.feed(next);
  }

  protected override letGo(): void {
    this.lettingGo++;
  }
}

const text = (chunk: Uint8Array) => Buffer.from(chunk).toString();

/** Lets the step end: what a source fed in it is handed over before this resolves. */
const stepOver = () => new Promise<void>((resolve) => queueMicrotask(resolve));

// A provider call reads its body through readEach: what one network read brought is handed over
// right after that read, joined, so a streamed token costs no promise between the provider's
// socket and the client's, and a fast provider's hundreds of tokens a read go out together.
describe('QueuedBodyReader.readEach', () => {
  it('hands over what a step fed, joined, right after that step, in order; false at the end', async () => {
    const body = new FedBody();
    body.feed('a');
    const taken: string[] = [];
    const reading = body.readEach((chunk) => {
      taken.push(text(chunk));
      return true;
    });
    await stepOver();
    expect(taken).toEqual(['a']);
    // One socket read: undici hands its chunks over one by one, in one step.
    body.feed('b');
    body.feed('c');
    expect(taken).toEqual(['a']);
    await stepOver();
    expect(taken).toEqual(['a', 'bc']);
    body.feed('d');
    body.end();
    expect(await reading).toBe(false);
    expect(taken).toEqual(['a', 'bc', 'd']);
    expect(await body.read()).toEqual({ done: true, value: undefined });
  });

  it('stops when take says so (true), and keeps what comes after for the next read, joined', async () => {
    const body = new FedBody();
    const taken: string[] = [];
    const reading = body.readEach((chunk) => {
      taken.push(text(chunk));
      return false;
    });
    body.feed('a');
    await stepOver();
    body.feed('b');
    body.feed('c');
    expect(await reading).toBe(true);
    expect(taken).toEqual(['a']);
    expect(text((await body.read()).value as Uint8Array)).toBe('bc');
  });

  it('a chunk the source feeds from inside a take waits for that take to end, so order holds', async () => {
    const body = new FedBody();
    body.onDrained.push('b', 'c');
    const taken: string[] = [];
    const reading = body.readEach((chunk) => {
      taken.push(`${text(chunk)}<`);
      taken.push('>');
      return true;
    });
    body.feed('a');
    await stepOver();
    body.end();
    expect(await reading).toBe(false);
    expect(taken.join('')).toBe('a<>b<>c<>');
  });

  it('a pending read answered while the source feeds more from inside it loses nothing', async () => {
    const body = new FedBody();
    // A paused source resumed by the read's taking of 'a' feeds 'b' at once, from inside it.
    body.onDrained.push('b');
    const pending = body.read();
    body.feed('a');
    expect(text((await pending).value as Uint8Array)).toBe('a');
    expect(text((await body.read()).value as Uint8Array)).toBe('b');
  });

  it('rejects with what take threw, and with a body that broke off; a cancel from inside take ends it', async () => {
    const throwing = new FedBody();
    const thrown = throwing.readEach(() => {
      throw new Error('the sink failed');
    });
    throwing.feed('a');
    await expect(thrown).rejects.toThrow('the sink failed');

    const breaking = new FedBody();
    const broken = breaking.readEach(() => true);
    breaking.feed('a');
    breaking.break(new Error('reset'));
    await expect(broken).rejects.toThrow('reset');

    const cancelling = new FedBody();
    const cancelled = cancelling.readEach(() => {
      void cancelling.cancel();
      return true;
    });
    cancelling.feed('a');
    await stepOver();
    cancelling.feed('b');
    expect(await cancelled).toBe(false);
    expect(cancelling.lettingGo).toBe(1);
  });

  it('one reader at a time: a read during readEach is refused', async () => {
    const body = new FedBody();
    const reading = body.readEach(() => true);
    await expect(body.read()).rejects.toThrow(TypeError);
    await expect(body.readEach(() => true)).rejects.toThrow(TypeError);
    body.end();
    expect(await reading).toBe(false);
  });
});
