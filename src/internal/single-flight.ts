/**
 * One task at a time for each key: a caller asking while the key's task runs is handed that
 * task's promise instead of starting another. Nothing is remembered once a task settles: a caller
 * gets what a task still running when it asked makes, never a result kept from before.
 * @internal
 */
export class SingleFlight<T> {
  readonly #running = new Map<string, Promise<T>>();

  /** How many keys have a task running. */
  get size(): number {
    return this.#running.size;
  }

  /** The running task of `key`, or `start()`'s, run now and shared until it settles. */
  run(key: string, start: () => Promise<T>): Promise<T> {
    const running = this.#running.get(key);
    if (running !== undefined) return running;
    // Started a microtask later, so that it is known under its key before it can settle (a
    // `start` that throws at once included).
    const task = Promise.resolve().then(start);
    this.#running.set(key, task);
    const forget = () => {
      this.#running.delete(key);
    };
    task.then(forget, forget);
    return task;
  }
}
