/**
 * Signals between the processes that share one storage: "this user disconnected", "stop this
 * turn", "a new event was logged". Delivery is best effort and at most once: a message published
 * while a process is cut off from the store is lost for it, so a bus message may only speed up
 * what storage and timeouts would settle anyway, never carry state of its own.
 *
 * Messages one process publishes on one channel arrive in the order published (a failover may
 * break that, as it may drop messages). Memory storage delivers within the process; Redis
 * storage uses Redis pub/sub, with channels under the storage's key prefix and one subscriber
 * connection per storage.
 */
export interface MessageBus {
  /** Delivers `message` to every subscriber of `channel` on every process sharing the storage (best effort, at most once). */
  publish(channel: string, message: string): Promise<void>;
  /** Calls `listener` for each message on `channel` until the returned function is called; resolves once the subscription is active. */
  subscribe(channel: string, listener: (message: string) => void): Promise<() => Promise<void>>;
}
