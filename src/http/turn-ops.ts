import { LlmChatError } from '../errors.js';
import { LimitGate } from '../limits/limit-gate.js';
import { StreamSlots } from '../limits/stream-slots.js';
import type { LockManager } from '../lock/lock-manager.js';
import type { ChatStorage } from '../storage.js';
import { guardObserver } from '../telemetry/guard-observer.js';
import { combineObservers, type TurnHooks, type TurnInfo, type TurnObserver } from '../telemetry/turn-observer.js';
import { UsageLedger } from '../usage/usage-ledger.js';
import { usageObserver } from '../usage/usage-observer.js';
import type { ChatHandlerOptions, ChatUser } from './chat-handler-options.js';

/** A chat request let through the limits: starts the turn's observers, frees its slot. @internal */
export interface TurnTicket {
  /** The hooks of the turn, or `undefined` when nothing observes turns. */
  startTurn(info: TurnInfo): TurnHooks | undefined;
  /** Gives back the stream slot. Idempotent. */
  release(): void;
}

/** Telemetry, usage and limits of the handler's turns, built once. @internal */
export interface TurnOps {
  /** The usage ledger, when accounting is on. */
  ledger: UsageLedger | undefined;
  /** Checks the limits of a chat request (throws 429 errors) and returns its ticket. */
  admit(user: ChatUser, userId: string, request: Request): Promise<TurnTicket>;
  /**
   * The hooks of a turn taken over from a process that died: counted (usage) and observed
   * (telemetry) as any turn, but not held to the limits, which admitted it once already.
   */
  observe(info: TurnInfo): TurnHooks | undefined;
}

const NO_TICKET: TurnTicket = { startTurn: () => undefined, release: () => {} };

/**
 * Builds what the chat route needs for telemetry, usage accounting and limits from the host's
 * options. With none of them set, `admit` resolves a ticket that observes nothing.
 * @internal
 */
export function createTurnOps(options: ChatHandlerOptions, storage: ChatStorage, locks: LockManager): TurnOps {
  const limits = options.limits;
  const budgets = limits?.tokensPerDay !== undefined || limits?.tokensPerMonth !== undefined;
  const accounting = options.usage !== undefined && options.usage !== false;
  if ((accounting || budgets) && !storage.usage) {
    throw new LlmChatError('CONFIG_INVALID', 'Usage accounting and token budgets need a storage with a usage backend.');
  }
  // Budgets read the ledger, so they turn accounting on; so may budgets that `forRequest` picks.
  const ledger =
    storage.usage && (accounting || budgets || limits?.forRequest)
      ? new UsageLedger(storage.usage, typeof options.usage === 'object' ? options.usage : {})
      : undefined;
  const gate = limits
    ? new LimitGate(limits, {
        windows: storage.rateWindows,
        slots: new StreamSlots(locks, { ttlMs: limits.slotTtlMs ?? 30_000, logger: options.logger }),
        ledger,
      })
    : undefined;
  const logger = options.logger;
  // The host's telemetry can't break a turn, nor keep usage from being counted: see `guardObserver`.
  const telemetry =
    options.telemetry &&
    guardObserver(options.telemetry, (hook, error) =>
      logger?.error?.('a turn observer failed', { hook, error: String(error) }),
    );
  const plainObserver = combineObservers([
    telemetry,
    ledger ? usageObserver(ledger, logger ? { logger } : {}) : undefined,
  ]);
  // The route holds a lock and a connection when it starts the turn: an observer that throws
  // there must not strand them, so it is logged and the turn runs unobserved.
  const start = (observer: TurnObserver | undefined, info: TurnInfo): TurnHooks | undefined => {
    try {
      return observer?.startTurn(info);
    } catch (error) {
      logger?.error?.('a turn observer failed to start', { error: String(error) });
      return undefined;
    }
  };
  const plainTicket: TurnTicket = plainObserver
    ? { startTurn: (info) => start(plainObserver, info), release: () => {} }
    : NO_TICKET;

  return {
    ledger,
    observe: (info) => start(plainObserver, info),
    async admit(user, userId, request) {
      if (!gate) return plainTicket;
      const admission = await gate.admit(userId, { user, request });
      const observer = admission.budgeted
        ? combineObservers([
            telemetry,
            usageObserver(ledger as UsageLedger, {
              beforeLlmCall: (round) => (round > 0 ? admission.checkBudget() : Promise.resolve()),
              ...(logger ? { logger } : {}),
            }),
          ])
        : plainObserver;
      return { startTurn: (info) => start(observer, info), release: admission.release };
    },
  };
}
