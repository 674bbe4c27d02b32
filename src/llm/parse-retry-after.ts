import type { HeaderReader } from './provider-response.js';

/**
 * Reads how long a provider asked us to wait, in milliseconds, from its response headers:
 * `retry-after-ms` (OpenAI) first, then `Retry-After` as seconds or as an HTTP date.
 * Returns `undefined` when neither header holds a usable value.
 *
 * @example
 * parseRetryAfter(new Headers({ 'retry-after': '2' })); // 2000
 */
export function parseRetryAfter(headers: HeaderReader, now: number = Date.now()): number | undefined {
  const ms = headers.get('retry-after-ms');
  if (ms !== null && ms.trim() !== '') {
    const value = Number(ms);
    if (Number.isFinite(value) && value >= 0) return Math.ceil(value);
  }
  const raw = headers.get('retry-after')?.trim();
  if (!raw) return undefined;
  if (/^\d+(\.\d+)?$/.test(raw)) return Math.ceil(Number(raw) * 1000);
  const date = Date.parse(raw);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}
