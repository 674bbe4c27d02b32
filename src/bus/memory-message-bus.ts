import type { MessageBus } from './message-bus.js';

type Listener = (message: string) => void;

/**
 * An in-process {@link MessageBus}, the bus of `memoryStorage()`. Like Redis pub/sub, delivery
 * is asynchronous (never inside `publish()`), reaches the listeners subscribed when the message
 * was published, and a listener that throws affects no other listener and no publisher.
 *
 * @example
 * const bus = new MemoryMessageBus();
 * const unsubscribe = await bus.subscribe('news', (message) => seen.push(message));
 * await bus.publish('news', 'hello');
 * await unsubscribe();
 */
export class MemoryMessageBus implements MessageBus {
  readonly #channels = new Map<string, Set<Listener>>();

  async publish(channel: string, message: string): Promise<void> {
    const listeners = this.#channels.get(channel);
    if (listeners === undefined) return;
    for (const listener of [...listeners]) {
      queueMicrotask(() => {
        // A listener still subscribed when its turn comes; one that left in between is skipped.
        if (!listeners.has(listener)) return;
        try {
          listener(String(message));
        } catch {
          // A subscriber's own failure is its business; the bus and the publisher go on.
        }
      });
    }
  }

  async subscribe(channel: string, listener: Listener): Promise<() => Promise<void>> {
    let listeners = this.#channels.get(channel);
    if (listeners === undefined) {
      listeners = new Set();
      this.#channels.set(channel, listeners);
    }
    // A wrapper, so the same function subscribed twice is two subscriptions, as on Redis.
    const entry: Listener = (message) => listener(message);
    listeners.add(entry);
    const subscribed = listeners;
    return async () => {
      subscribed.delete(entry);
      if (subscribed.size === 0 && this.#channels.get(channel) === subscribed) this.#channels.delete(channel);
    };
  }

  /** How many channels have at least one subscriber (for tests and leak checks). */
  get channelCount(): number {
    return this.#channels.size;
  }
}
