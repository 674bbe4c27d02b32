import { FlexibleRateWindow } from './flexible-rate-window.js';
import type { RateWindowBackend } from './rate-window-backend.js';

/**
 * Request windows of one process (rate-limiter-flexible's `RateLimiterMemory`, whose timers are
 * `unref()`ed). The limiter library is loaded on first use, so hosts without limits never load it.
 */
export function memoryRateWindow(): RateWindowBackend {
  return new FlexibleRateWindow(async (points, duration) => {
    const { RateLimiterMemory } = await import('rate-limiter-flexible');
    return new RateLimiterMemory({ points, duration, keyPrefix: `req:${points}:${duration}` });
  });
}
