/**
 * A stall seen on one client: some of its commands timed out and Redis has not answered them.
 * @internal
 */
export interface Stall {
  /** Timed-out commands not settled yet. */
  unanswered: number;
  /** When the next probe may go (epoch ms). */
  probeAt: number;
  /** How long after a timeout the next probe waits. */
  probeMs: number;
}

// Per client (a `Redis` or a `Cluster` object): a client nobody uses any more takes its stall along.
const stalls = new WeakMap<object, Stall>();

/**
 * The circuit breaker of `runRedisCommand` for a Redis that stops answering while the connection
 * stays up (a paused or swapping server, `DEBUG SLEEP`, a half-open TCP link). ioredis then keeps
 * the client `ready`, so without it every command would wait its whole timeout, pile up in the
 * client's queue (memory grows with the request rate) and run late, all of them, once Redis
 * answers again. Once a command has timed out, the client's other commands fail at once while
 * a timed-out one is still unanswered; when they have all settled (Redis answered, or the
 * connection dropped and ioredis gave up on them), commands flow again.
 *
 * Never wedged: a command whose promise never settles holds the breaker only until a probe goes
 * through (one command let through `probeMs` after the last timeout) and is answered in time.
 * Replies come in order on one connection, so an answer in time means the earlier commands were
 * answered or dropped.
 * @internal
 */
export const stallBreaker = {
  /** The client's stall, or `undefined`: the one lookup every command pays. */
  of(client: object): Stall | undefined {
    return stalls.get(client);
  },

  /** Whether a command may go during `stall`: one probe per `probeMs`, the others fail fast. */
  letsProbeThrough(stall: Stall): boolean {
    const now = Date.now();
    if (now < stall.probeAt) return false;
    stall.probeAt = now + stall.probeMs;
    return true;
  },

  /** `sent`, a command of `client`, timed out: the client is stalled until it settles. */
  timedOut(client: object, sent: Promise<unknown>, probeMs: number): void {
    let stall = stalls.get(client);
    if (stall === undefined) {
      stall = { unanswered: 0, probeAt: 0, probeMs };
      stalls.set(client, stall);
    }
    const current = stall;
    current.unanswered += 1;
    current.probeAt = Date.now() + probeMs;
    const settled = () => {
      current.unanswered -= 1;
      if (current.unanswered <= 0 && stalls.get(client) === current) stalls.delete(client);
    };
    sent.then(settled, settled);
  },

  /** A command sent during `stall` settled in time: Redis answers again (or the link dropped). */
  settled(client: object, stall: Stall): void {
    if (stalls.get(client) === stall) stalls.delete(client);
  },
};
