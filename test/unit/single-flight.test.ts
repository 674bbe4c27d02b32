import { describe, expect, it } from 'vitest';
import { SingleFlight } from '../../src/internal/single-flight.js';

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('SingleFlight', () => {
  it('hands callers of a running key its task, and runs other keys apart', async () => {
    const flights = new SingleFlight<string>();
    const first = deferred<string>();
    let started = 0;
    const start = () => {
      started += 1;
      return first.promise;
    };
    const a = flights.run('k', start);
    const b = flights.run('k', start);
    const other = flights.run('other', async () => 'other');
    expect(b).toBe(a);
    expect(flights.size).toBe(2);
    first.resolve('listed');
    expect(await Promise.all([a, b, other])).toEqual(['listed', 'listed', 'other']);
    expect(started).toBe(1);
  });

  it('keeps nothing once a task settled: the next call starts anew', async () => {
    const flights = new SingleFlight<number>();
    let started = 0;
    const start = async () => ++started;
    expect(await flights.run('k', start)).toBe(1);
    expect(flights.size).toBe(0);
    expect(await flights.run('k', start)).toBe(2);
  });

  it('shares a failure with every caller, then forgets it', async () => {
    const flights = new SingleFlight<string>();
    const failing = deferred<string>();
    const a = flights.run('k', () => failing.promise);
    const b = flights.run('k', async () => 'never started');
    failing.reject(new Error('down'));
    await expect(a).rejects.toThrow('down');
    await expect(b).rejects.toThrow('down');
    expect(flights.size).toBe(0);
    await expect(flights.run('k', async () => 'up again')).resolves.toBe('up again');
  });

  it('turns a synchronous throw into a rejection and forgets the key', async () => {
    const flights = new SingleFlight<string>();
    const thrown = flights.run('k', () => {
      throw new Error('sync');
    });
    await expect(thrown).rejects.toThrow('sync');
    expect(flights.size).toBe(0);
  });
});
