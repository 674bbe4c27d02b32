const noop = (): void => {};

/**
 * Runs the operations given for one key one after another, in this process; operations of
 * different keys run freely. An operation with nothing ahead of it starts at once (in the
 * caller's synchronous run), and a key is held only while one of its operations runs.
 * @internal
 */
export class KeyedQueue {
  readonly #tails = new Map<string, Promise<void>>();

  /** Runs `operation` once every operation queued earlier for `key` has settled. */
  run<T>(key: string, operation: () => Promise<T>): Promise<T> {
    const ahead = this.#tails.get(key);
    const result = ahead === undefined ? operation() : ahead.then(operation);
    const tail = result.then(noop, noop);
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }
}
