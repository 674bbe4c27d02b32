import { LlmChatError, wrapError } from '../errors.js';
import { copyWith } from '../internal/copy-with.js';
import { randomToken } from '../internal/random-token.js';
import { sleep } from '../internal/sleep.js';
import { unrefTimer } from '../internal/unref-timer.js';
import type { Logger } from '../types.js';
import type { HeldLock } from './lock.js';
import type { LockBackend } from './lock-backend.js';

/** Options of {@link LockManager}. */
export interface LockManagerOptions {
  /** Lease length; a crashed holder's lock frees itself after this long. @default 30000 */
  ttlMs?: number;
  /** Pause between attempts while waiting for a held lock. @default 50 */
  retryDelayMs?: number;
  /** Random extra pause added to each retry, so waiters do not retry in lockstep. @default 50 */
  retryJitterMs?: number;
  /** Receives warnings about failed extensions and releases. @default undefined (silent) */
  logger?: Logger;
}

/** Options of {@link LockManager.acquire}. */
export interface AcquireLockOptions {
  /** Lease length for this acquisition. @default the manager's `ttlMs` */
  ttlMs?: number;
  /** How long to wait for a held lock before `LOCK_TIMEOUT`; `0` tries once. @default 0 */
  waitMs?: number;
  /** Stops waiting with `ABORTED`. */
  signal?: AbortSignal;
  /**
   * The holder's token, for a caller that must name the holder before the lock is granted (a
   * storage script sent in the same round trip that checks the lock). Unguessable; every attempt
   * of this acquisition uses it. @default a new random token
   */
  token?: string;
}

/** Options of {@link LockManager.tryAcquire}. */
export interface TryAcquireLockOptions {
  /** Lease length. @default the manager's `ttlMs` */
  ttlMs?: number;
  /** The holder's token (see {@link AcquireLockOptions.token}). @default a new random token */
  token?: string;
}

/** Options of {@link LockManager.hold}. */
export interface HoldLockOptions extends AcquireLockOptions {
  /** How often the lease is renewed while it is held. @default ttlMs / 3 */
  extendEveryMs?: number;
}

/** Options of {@link LockManager.using}. */
export type UsingLockOptions = HoldLockOptions;

const LOST_MESSAGE = 'The lock was lost before the operation finished.';

/**
 * Distributed mutual exclusion over a {@link LockBackend}: random token per acquisition, waits
 * with retry and jitter, and `using()` to run a function while the lease is kept alive.
 *
 * Failures have distinct codes: someone else holding the lock is `LOCK_TIMEOUT`, an unreachable
 * backend is `BACKEND_UNAVAILABLE`, an aborted wait is `ABORTED`, a lease lost while running is
 * `LOCK_LOST` (as the reason of the signal handed to the function).
 *
 * @example
 * const locks = new LockManager(memoryStorage().locks, { ttlMs: 30_000 });
 * const answer = await locks.using(`turn:${userId}`, async (signal) => runTurn({ signal }), { waitMs: 0 });
 */
export class LockManager {
  readonly #backend: LockBackend;
  readonly #ttlMs: number;
  readonly #retryDelayMs: number;
  readonly #retryJitterMs: number;
  readonly #logger: Logger | undefined;

  constructor(backend: LockBackend, options: LockManagerOptions = {}) {
    const { ttlMs = 30_000, retryDelayMs = 50, retryJitterMs = 50 } = options;
    assertDuration('ttlMs', ttlMs, 1);
    assertDuration('retryDelayMs', retryDelayMs, 0);
    assertDuration('retryJitterMs', retryJitterMs, 0);
    this.#backend = backend;
    this.#ttlMs = ttlMs;
    this.#retryDelayMs = retryDelayMs;
    this.#retryJitterMs = retryJitterMs;
    this.#logger = options.logger;
  }

  /** A new holder token: 128 random bits. */
  static newToken(): string {
    return randomToken(16);
  }

  /**
   * Takes the lock once. Resolves `null` when someone else holds it.
   * @throws LlmChatError `BACKEND_UNAVAILABLE` when the backend fails.
   */
  async tryAcquire(key: string, options: TryAcquireLockOptions = {}): Promise<HeldLock | null> {
    const ttlMs = options.ttlMs ?? this.#ttlMs;
    assertDuration('ttlMs', ttlMs, 1);
    const token = options.token ?? LockManager.newToken();
    const acquired = await callBackend(() => this.#backend.tryAcquire(key, token, ttlMs));
    return acquired ? new LeaseLock(this.#backend, key, token, ttlMs) : null;
  }

  /**
   * Takes the lock, retrying with jitter until `waitMs` has passed.
   * @throws LlmChatError `LOCK_TIMEOUT` when it is still held at the deadline,
   * `BACKEND_UNAVAILABLE` when the backend fails, `ABORTED` when `signal` aborts.
   */
  async acquire(key: string, options: AcquireLockOptions = {}): Promise<HeldLock> {
    return (await this.#acquire(key, options)).lock;
  }

  /**
   * {@link acquire}, also telling when the attempt that won was sent (by the monotonic clock):
   * the store's TTL runs from that attempt, not from the first one of a wait.
   */
  async #acquire(key: string, options: AcquireLockOptions): Promise<{ lock: HeldLock; sentAt: number }> {
    const { waitMs = 0, signal } = options;
    assertDuration('waitMs', waitMs, 0);
    const deadline = Date.now() + waitMs;
    for (;;) {
      throwIfAborted(signal);
      // Before the request: the lease's own clock must never run past the store's.
      const sentAt = performance.now();
      const lock = await this.tryAcquire(key, {
        ttlMs: options.ttlMs ?? this.#ttlMs,
        ...(options.token === undefined ? {} : { token: options.token }),
      });
      if (lock !== null) {
        if (signal?.aborted !== true) return { lock, sentAt };
        // Aborted while the attempt was in flight: do not keep a lock nobody will release.
        await lock.release().catch(() => false);
        throwIfAborted(signal);
      }
      const remainingMs = deadline - Date.now();
      if (remainingMs <= 0) throw new LlmChatError('LOCK_TIMEOUT', 'The lock is held by another operation.');
      await sleep(Math.min(this.#retryDelayMs + Math.random() * this.#retryJitterMs, remainingMs), signal);
    }
  }

  /**
   * Takes the lock and keeps its lease alive until `release()`: the lease is extended every
   * `extendEveryMs`; if it is lost (or cannot be renewed before it ends) `signal` aborts with an
   * `LlmChatError` of code `LOCK_LOST` as its reason. `options.signal` stops the wait with
   * `ABORTED`, and once the lock is held its abort also aborts `signal`.
   *
   * `release()` is idempotent and never rejects: it stops the renewals, waits for one in flight,
   * and frees the lock; it resolves `false` when the lease was already lost or the backend failed
   * (logged; the lease then ends by its TTL).
   * @throws the errors of {@link acquire} when the lock cannot be taken.
   * @example
   * const lease = await locks.hold(`turn:${userId}`, { waitMs: 0 });
   * try {
   *   await runTurn({ signal: lease.signal });
   * } finally {
   *   await lease.release();
   * }
   */
  async hold(key: string, options: HoldLockOptions = {}): Promise<LockLease> {
    const ttlMs = options.ttlMs ?? this.#ttlMs;
    const extendEveryMs = options.extendEveryMs ?? Math.max(1, Math.floor(ttlMs / 3));
    assertDuration('extendEveryMs', extendEveryMs, 1);
    // Counted from the attempt that won, not from the start of the wait: a turn queued behind
    // another would otherwise start with a lease it believes already (nearly) over.
    const { lock, sentAt } = await this.#acquire(key, copyWith(options, { ttlMs }));
    const backend = this.#backend;
    return new RenewedLease(lock, sentAt + ttlMs, ttlMs, extendEveryMs, options.signal, this.#logger, () =>
      backend.forget?.(key, lock.token),
    );
  }

  /**
   * Runs `fn` while holding the lock: {@link hold}, then `fn(lease.signal, lock)`, then
   * `release()` whatever `fn` did. `fn`'s result or error passes through.
   * @throws the errors of {@link acquire} when the lock cannot be taken.
   */
  async using<T>(
    key: string,
    fn: (signal: AbortSignal, lock: HeldLock) => Promise<T>,
    options: UsingLockOptions = {},
  ): Promise<T> {
    const lease = await this.hold(key, options);
    try {
      return await fn(lease.signal, lease.lock);
    } finally {
      await lease.release();
    }
  }
}

/** A held lock whose lease is renewed until released; see {@link LockManager.hold}. */
export interface LockLease {
  /** The lock itself (key and token). */
  readonly lock: HeldLock;
  /** Aborts with `LOCK_LOST` when the lease is lost, or with the reason of the caller's signal. */
  readonly signal: AbortSignal;
  /** Stops renewing and frees the lock. Idempotent; never rejects; `false` when it could not be freed. */
  release(): Promise<boolean>;
  /**
   * How long the lease surely still holds, in milliseconds by this process's monotonic clock:
   * counted from before the attempt that took the lock (not the start of a wait for it) or the
   * last renewal was sent, so the store's own expiry can only come later. `0` once lost,
   * released, or possibly expired. While it is above zero, no one else can have taken the lock.
   */
  remainingMs(): number;
  /**
   * Tells the lease that another step of the same storage freed its lock while it was held (a
   * turn's last event write does, see `TurnAppendOptions.releaseLock`): it stops renewing, and
   * {@link release} then resolves `true` without a call to the backend.
   */
  releasedElsewhere(): void;
}

/**
 * Calls `listener` with the reason `lease` ended (lost, or its caller's signal aborted), at once
 * if it has already, without making the lease's signal when the lease is the library's own.
 * @internal
 */
export function onLeaseEnd(lease: LockLease, listener: (reason: unknown) => void): void {
  if (lease instanceof RenewedLease) {
    lease.whenEnded(listener);
    return;
  }
  const { signal } = lease;
  if (signal.aborted) listener(signal.reason);
  else signal.addEventListener('abort', () => listener(signal.reason), { once: true });
}

class RenewedLease implements LockLease {
  readonly lock: HeldLock;
  // Node makes a controller's signal when it is first read (`onLeaseEnd` does not read it): the
  // controller alone is 44 B and 0.1 µs, its signal 2.5 µs more (Node 20, the 2-core dev machine).
  readonly #controller = new AbortController();
  #ended: { reason: unknown } | undefined;
  #onEnd: Array<(reason: unknown) => void> | undefined;
  readonly #ttlMs: number;
  readonly #extendEveryMs: number;
  readonly #outer: AbortSignal | undefined;
  readonly #logger: Logger | undefined;
  #leaseEndsAt: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #inFlight: Promise<void> | undefined;
  #released: Promise<boolean> | undefined;
  readonly #forget: (() => void) | undefined;

  constructor(
    lock: HeldLock,
    leaseEndsAt: number,
    ttlMs: number,
    extendEveryMs: number,
    outer: AbortSignal | undefined,
    logger?: Logger,
    forget?: () => void,
  ) {
    this.lock = lock;
    this.#ttlMs = ttlMs;
    this.#extendEveryMs = extendEveryMs;
    this.#outer = outer;
    this.#logger = logger;
    this.#leaseEndsAt = leaseEndsAt;
    this.#forget = forget;
    outer?.addEventListener('abort', this.#forwardAbort, { once: true });
    this.#schedule();
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Calls `listener` with the reason the lease ended (lost, or the caller's signal), at once if it has. */
  whenEnded(listener: (reason: unknown) => void): void {
    if (this.#ended !== undefined) {
      listener(this.#ended.reason);
      return;
    }
    this.#onEnd ??= [];
    this.#onEnd.push(listener);
  }

  release(): Promise<boolean> {
    this.#released ??= this.#release();
    return this.#released;
  }

  releasedElsewhere(): void {
    if (this.#released !== undefined) return;
    clearTimeout(this.#timer);
    this.#outer?.removeEventListener('abort', this.#forwardAbort);
    // A renewal still in flight finds the lock gone: set first, so that is not taken as a loss.
    this.#released = Promise.resolve(true);
    this.#forget?.();
  }

  remainingMs(): number {
    if (this.#released !== undefined || this.#ended !== undefined) return 0;
    return Math.max(0, this.#leaseEndsAt - performance.now());
  }

  async #release(): Promise<boolean> {
    clearTimeout(this.#timer);
    this.#outer?.removeEventListener('abort', this.#forwardAbort);
    if (this.#inFlight !== undefined) await this.#inFlight;
    try {
      return await this.lock.release();
    } catch {
      this.#logger?.warn?.('Lock release failed; the lease will end by its TTL.');
      return false;
    }
  }

  readonly #forwardAbort = (): void => {
    this.#end(this.#outer?.reason);
  };

  #lose(cause?: unknown): void {
    if (this.#released !== undefined || this.#ended !== undefined) return;
    this.#logger?.warn?.('Lock lease lost while its holder was running.', { reason: cause ? 'error' : 'taken' });
    this.#end(new LlmChatError('LOCK_LOST', LOST_MESSAGE, cause === undefined ? {} : { cause }));
  }

  #end(reason: unknown): void {
    if (this.#ended !== undefined) return;
    this.#ended = { reason };
    this.#controller.abort(reason);
    const listeners = this.#onEnd ?? [];
    this.#onEnd = undefined;
    for (const listener of listeners) listener(reason);
  }

  async #renew(): Promise<void> {
    const startedAt = performance.now();
    try {
      if (!(await this.lock.extend(this.#ttlMs))) return this.#lose();
      this.#leaseEndsAt = startedAt + this.#ttlMs;
    } catch (error) {
      // A transient failure is retried while the current lease surely still holds.
      if (performance.now() + this.#extendEveryMs >= this.#leaseEndsAt) return this.#lose(error);
      this.#logger?.warn?.('Lock extension failed; retrying.');
    }
    this.#schedule();
  }

  #schedule(): void {
    if (this.#released !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#inFlight = this.#renew().finally(() => {
        this.#inFlight = undefined;
      });
    }, this.#extendEveryMs);
    unrefTimer(this.#timer);
  }
}

class LeaseLock implements HeldLock {
  readonly key: string;
  readonly token: string;
  readonly #backend: LockBackend;
  readonly #ttlMs: number;
  #released = false;

  constructor(backend: LockBackend, key: string, token: string, ttlMs: number) {
    this.#backend = backend;
    this.key = key;
    this.token = token;
    this.#ttlMs = ttlMs;
  }

  async release(): Promise<boolean> {
    if (this.#released) return false;
    const released = await callBackend(() => this.#backend.release(this.key, this.token));
    this.#released = true;
    return released;
  }

  async extend(ttlMs: number = this.#ttlMs): Promise<boolean> {
    assertDuration('ttlMs', ttlMs, 1);
    if (this.#released) return false;
    return callBackend(() => this.#backend.extend(this.key, this.token, ttlMs));
  }
}

async function callBackend<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw wrapError(error, 'BACKEND_UNAVAILABLE', 'The lock backend is unavailable.');
  }
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new LlmChatError('ABORTED', 'The operation was aborted.', { cause: signal.reason });
}

function assertDuration(name: string, value: number, min: number): void {
  if (!Number.isFinite(value) || value < min) {
    throw new LlmChatError('CONFIG_INVALID', `${name} must be a number of milliseconds >= ${min}.`);
  }
}
