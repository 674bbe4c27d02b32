import { LlmChatError } from '../errors.js';
import type { LimitsOptions, UserLimits } from './limits-options.js';

// The longest lease a slot timer can renew: setInterval fires at once above 2^31 - 1 ms.
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Checks the `limits` option once, when the handler is built, so a bad value fails start-up with
 * `CONFIG_INVALID` rather than every request (or, for a `NaN` budget, none: `used >= NaN` is
 * false, and the budget would silently let every turn through).
 * @throws LlmChatError `CONFIG_INVALID` naming the option.
 * @internal
 */
export function checkLimitsOptions(options: LimitsOptions): void {
  if (options === null || typeof options !== 'object') {
    throw new LlmChatError('CONFIG_INVALID', 'limits must be an object.');
  }
  checkUserLimits(options, 'limits');
  if (options.forRequest !== undefined && typeof options.forRequest !== 'function') {
    throw new LlmChatError('CONFIG_INVALID', 'limits.forRequest must be a function.');
  }
  const { slotTtlMs } = options;
  if (slotTtlMs !== undefined && !(isWhole(slotTtlMs, 1) && slotTtlMs <= MAX_TIMER_MS)) {
    throw new LlmChatError('CONFIG_INVALID', `limits.slotTtlMs must be a whole number from 1 to ${MAX_TIMER_MS}.`);
  }
}

/**
 * Checks what `limits.forRequest` returned (`null` exempts; `undefined` is handled by the
 * caller). A bad value refuses the request with `CONFIG_INVALID` (500): letting the turn through
 * would fail open, past the budget the hook meant to set.
 * @throws LlmChatError `CONFIG_INVALID` naming the field.
 * @internal
 */
export function checkChosenLimits(chosen: unknown): UserLimits | null {
  if (chosen === null) return null;
  if (typeof chosen !== 'object') {
    throw new LlmChatError('CONFIG_INVALID', 'limits.forRequest must return limits, null or undefined.');
  }
  return checkUserLimits(chosen as UserLimits, 'limits.forRequest() result');
}

function checkUserLimits(limits: UserLimits, where: string): UserLimits {
  const { requests, concurrentStreams, tokensPerDay, tokensPerMonth } = limits;
  if (requests !== undefined) {
    if (requests === null || typeof requests !== 'object') {
      throw invalid(`${where}: requests must be an object { limit, windowMs }.`);
    }
    if (!isWhole(requests.limit, 1)) throw invalid(`${where}: requests.limit must be a whole number of at least 1.`);
    // rate-limiter-flexible's windows are whole seconds.
    if (!isWhole(requests.windowMs, 1000) || requests.windowMs % 1000 !== 0) {
      throw invalid(`${where}: requests.windowMs must be whole seconds (a multiple of 1000, at least 1000).`);
    }
  }
  if (concurrentStreams !== undefined && !isWhole(concurrentStreams, 1)) {
    throw invalid(`${where}: concurrentStreams must be a whole number of at least 1.`);
  }
  // 0 is a budget too: it refuses every turn (a plan with no tokens).
  if (tokensPerDay !== undefined && !isWhole(tokensPerDay, 0)) {
    throw invalid(`${where}: tokensPerDay must be a whole number of at least 0.`);
  }
  if (tokensPerMonth !== undefined && !isWhole(tokensPerMonth, 0)) {
    throw invalid(`${where}: tokensPerMonth must be a whole number of at least 0.`);
  }
  return limits;
}

function isWhole(value: unknown, min: number): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min;
}

function invalid(message: string): LlmChatError {
  return new LlmChatError('CONFIG_INVALID', message);
}
