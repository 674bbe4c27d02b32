import { LlmChatError } from '../errors.js';
import type { UsageLedger } from '../usage/usage-ledger.js';
import { checkChosenLimits, checkLimitsOptions } from './check-limits.js';
import type { LimitRequestContext, LimitsOptions, UserLimits } from './limits-options.js';
import type { RateWindowBackend } from './rate-window-backend.js';
import type { StreamSlots } from './stream-slots.js';

/** A request let through: its limits, and what to give back when the turn ends. */
export interface Admission {
  /** Checks the token budgets again (between LLM calls); rejects with `BUDGET_EXCEEDED`. */
  checkBudget(): Promise<void>;
  /** Whether a token budget applies, so the turn needs checking between calls. */
  readonly budgeted: boolean;
  /** Frees the stream slot. Idempotent. */
  release(): void;
}

const EXEMPT: Admission = { checkBudget: async () => {}, budgeted: false, release: () => {} };

/**
 * Enforces the host's limits on `POST /chat` across every process sharing the storage: the
 * request window (rate-limiter-flexible), the open-stream cap (lease slots), and the token
 * budgets per UTC day and month (read from the usage ledger). Over a limit it throws
 * `RATE_LIMITED` or `BUDGET_EXCEEDED` (both 429, with `Retry-After`). Limits that are not
 * usable numbers are `CONFIG_INVALID`: the options when the gate is built, what `forRequest`
 * returns when the request comes (refused, never let through unchecked).
 * @internal
 */
export class LimitGate {
  readonly #options: LimitsOptions;
  readonly #windows: RateWindowBackend | undefined;
  readonly #slots: StreamSlots;
  readonly #ledger: UsageLedger | undefined;

  constructor(
    options: LimitsOptions,
    deps: { windows: RateWindowBackend | undefined; slots: StreamSlots; ledger: UsageLedger | undefined },
  ) {
    checkLimitsOptions(options);
    this.#options = options;
    this.#windows = deps.windows;
    this.#slots = deps.slots;
    this.#ledger = deps.ledger;
  }

  /** Checks a chat request against its user's limits and takes a stream slot when capped. */
  async admit(userId: string, context: LimitRequestContext): Promise<Admission> {
    const limits = await this.#limitsFor(context);
    if (limits === null) return EXEMPT;
    if (limits.requests) {
      if (!this.#windows) throw new LlmChatError('CONFIG_INVALID', 'The storage has no request-window backend.');
      const { limit, windowMs } = limits.requests;
      const result = await this.#windows.consume(userId, limit, windowMs);
      if (!result.allowed) {
        throw new LlmChatError('RATE_LIMITED', 'Too many chat requests; please wait before sending more.', {
          retryAfterMs: Math.max(1000, result.resetMs),
        });
      }
    }
    const budgeted = limits.tokensPerDay !== undefined || limits.tokensPerMonth !== undefined;
    const checkBudget = () => this.#checkBudget(userId, limits);
    if (budgeted) await checkBudget();
    const slot =
      limits.concurrentStreams === undefined ? undefined : await this.#slots.take(userId, limits.concurrentStreams);
    return { checkBudget, budgeted, release: () => slot?.release() };
  }

  async #limitsFor(context: LimitRequestContext): Promise<UserLimits | null> {
    if (!this.#options.forRequest) return this.#options;
    const chosen: unknown = await this.#options.forRequest(context);
    return chosen === undefined ? this.#options : checkChosenLimits(chosen);
  }

  async #checkBudget(userId: string, limits: UserLimits): Promise<void> {
    if (!this.#ledger) throw new LlmChatError('CONFIG_INVALID', 'Token budgets need usage accounting.');
    const now = new Date();
    const used = await this.#ledger.tokensUsed(userId, now);
    if (limits.tokensPerDay !== undefined && used.day >= limits.tokensPerDay) {
      throw budgetError('daily', nextUtcDay(now).getTime() - now.getTime());
    }
    if (limits.tokensPerMonth !== undefined && used.month >= limits.tokensPerMonth) {
      throw budgetError('monthly', nextUtcMonth(now).getTime() - now.getTime());
    }
  }
}

function budgetError(period: string, retryAfterMs: number): LlmChatError {
  return new LlmChatError('BUDGET_EXCEEDED', `The ${period} token budget is used up.`, { retryAfterMs });
}

function nextUtcDay(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));
}

function nextUtcMonth(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
}
