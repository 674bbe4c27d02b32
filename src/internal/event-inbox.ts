/**
 * Events pushed from callbacks, taken in order by one async reader: how work running beside a
 * generator (a tool call waiting on the user) gets events into its stream. `next()` resolves as
 * soon as an event is there.
 * @internal
 */
export class EventInbox<E> {
  readonly #events: E[] = [];
  #wake: (() => void) | undefined;
  // One wait at a time, shared by every caller until an event comes: a reader that raced it
  // against other work and went on does not leave a fresh never-settled promise each round.
  #waiting: Promise<void> | undefined;

  push(event: E): void {
    this.#events.push(event);
    this.#wake?.();
    this.#wake = undefined;
    this.#waiting = undefined;
  }

  /** The next event, taken out of the inbox, or `undefined` when it is empty. */
  take(): E | undefined {
    return this.#events.shift();
  }

  /** Resolves once an event is there (at once when one already is). */
  waitForEvent(): Promise<void> {
    if (this.#events.length > 0) return Promise.resolve();
    this.#waiting ??= new Promise((resolve) => {
      this.#wake = resolve;
    });
    return this.#waiting;
  }
}
