import type { MessageBus } from '../bus/message-bus.js';
import { LlmChatError } from '../errors.js';
import { withTimeout } from '../internal/with-timeout.js';
import type { RedisClientLike, RedisSubscriberLike } from './redis-client.js';
import { runRedisCommand } from './redis-command.js';
import { PUBLISH, runScript } from './redis-scripts.js';

type Listener = (message: string) => void;

interface Channel {
  listeners: Set<Listener>;
  /** Settles when Redis confirmed the SUBSCRIBE for this channel. */
  active: Promise<void>;
}

/** Options of {@link RedisMessageBus}. */
export interface RedisMessageBusOptions {
  /** Prepended to every channel name. */
  keyPrefix: string;
  /** Longest wait for a PUBLISH or a SUBSCRIBE confirmation. */
  operationTimeoutMs: number;
  /**
   * The connection subscriptions go through (it enters subscriber mode). When absent, the
   * first `subscribe()` creates one with `client.duplicate()`, which `close()` disconnects.
   */
  subscriber?: RedisSubscriberLike;
}

/**
 * A {@link MessageBus} over Redis pub/sub: PUBLISH on the host's client (from a one-line script,
 * so on a Cluster every message of a channel goes through the same node, in order), and one subscriber
 * connection per bus whatever the number of subscriptions. Channels are ref-counted: the first
 * listener of a channel sends SUBSCRIBE, the last one to leave sends UNSUBSCRIBE. Works with
 * `Redis` and `Cluster` (classic pub/sub reaches every node of a cluster). ioredis re-subscribes
 * by itself after a reconnect; messages published while the subscriber was cut off are lost,
 * as the interface allows.
 * @internal
 */
export class RedisMessageBus implements MessageBus {
  readonly #client: RedisClientLike;
  readonly #prefix: string;
  readonly #timeoutMs: number;
  readonly #hostSubscriber: RedisSubscriberLike | undefined;
  readonly #channels = new Map<string, Channel>();
  #subscriber: RedisSubscriberLike | undefined;
  #closed = false;

  constructor(client: RedisClientLike, options: RedisMessageBusOptions) {
    this.#client = client;
    this.#prefix = options.keyPrefix;
    this.#timeoutMs = options.operationTimeoutMs;
    this.#hostSubscriber = options.subscriber;
  }

  async publish(channel: string, message: string): Promise<void> {
    const name = this.#prefix + channel;
    await runRedisCommand(this.#client, this.#timeoutMs, () => runScript(this.#client, PUBLISH, [name], [message]));
  }

  async subscribe(channel: string, listener: Listener): Promise<() => Promise<void>> {
    if (this.#closed) throw new LlmChatError('BACKEND_UNAVAILABLE', 'The message bus is closed.');
    const name = this.#prefix + channel;
    const subscriber = this.#connection();
    let entry = this.#channels.get(name);
    if (entry === undefined) {
      const created: Channel = { listeners: new Set(), active: Promise.resolve() };
      created.active = this.#subscribeOnce(subscriber, name, created);
      this.#channels.set(name, created);
      entry = created;
    }
    const own: Listener = (message) => listener(message);
    entry.listeners.add(own);
    const joined = entry;
    try {
      await joined.active;
    } catch (error) {
      joined.listeners.delete(own);
      throw error;
    }
    let left = false;
    return async () => {
      if (left) return;
      left = true;
      joined.listeners.delete(own);
      if (joined.listeners.size > 0 || this.#channels.get(name) !== joined) return;
      this.#channels.delete(name);
      await runRedisCommand(subscriber, this.#timeoutMs, () => subscriber.unsubscribe(name)).catch(() => {});
    };
  }

  /**
   * Ends every subscription. A subscriber connection the bus created is disconnected; the
   * host's own subscriber connection is only unsubscribed, never closed.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const subscriber = this.#subscriber;
    const names = [...this.#channels.keys()];
    this.#channels.clear();
    if (subscriber === undefined) return;
    subscriber.off('message', this.#onMessage);
    if (subscriber !== this.#hostSubscriber) {
      subscriber.disconnect();
      return;
    }
    if (names.length > 0) {
      await runRedisCommand(subscriber, this.#timeoutMs, () => subscriber.unsubscribe(...names)).catch(() => {});
    }
  }

  /** The shared subscriber connection, made on first use. */
  #connection(): RedisSubscriberLike {
    if (this.#subscriber !== undefined) return this.#subscriber;
    let subscriber = this.#hostSubscriber;
    if (subscriber === undefined) {
      const duplicate = this.#client.duplicate;
      if (typeof duplicate !== 'function') {
        throw new LlmChatError(
          'CONFIG_INVALID',
          'redisStorage needs a `subscriber` client or a client with duplicate().',
        );
      }
      subscriber = duplicate.call(this.#client) as RedisSubscriberLike;
      // Connection errors surface as BACKEND_UNAVAILABLE on the calls; an unhandled 'error'
      // event would crash the process.
      subscriber.on('error', () => {});
    }
    subscriber.on('message', this.#onMessage);
    this.#subscriber = subscriber;
    return subscriber;
  }

  readonly #onMessage = (channel: string, message: string): void => {
    const entry = this.#channels.get(channel);
    if (entry === undefined) return;
    for (const listener of [...entry.listeners]) {
      try {
        listener(message);
      } catch {
        // A listener's failure must not stop the others or reach ioredis's event loop.
      }
    }
  };

  async #subscribeOnce(subscriber: RedisSubscriberLike, name: string, entry: Channel): Promise<void> {
    // Not through runRedisCommand: SUBSCRIBE may wait for the connection being made, which
    // is not "Redis is down" yet; only the timeout says so.
    const sent = subscriber.subscribe(name);
    try {
      await withTimeout(
        sent,
        this.#timeoutMs,
        () => new LlmChatError('BACKEND_UNAVAILABLE', 'The storage backend did not confirm the subscription in time.'),
      );
    } catch (error) {
      if (this.#channels.get(name) === entry) this.#channels.delete(name);
      // A SUBSCRIBE that succeeds after the caller gave up would linger on the connection.
      sent.then(
        () => {
          if (!this.#channels.has(name)) subscriber.unsubscribe(name).catch(() => {});
        },
        () => {},
      );
      throw error instanceof LlmChatError
        ? error
        : new LlmChatError('BACKEND_UNAVAILABLE', 'The storage backend is unavailable.', { cause: error });
    }
  }
}
