/**
 * The `before` of the paging routes, read strictly. V8's `Date.parse` takes almost anything
 * (`-1` is the year -1, `2024` is a year, `Tue Mar 1 2099` a date, `2024-02-30` March 1st), so a
 * typo became a cursor silently. Accepted: what the routes emit (`updated_at`, `at`), an
 * ISO-8601 date-time with `Z` or an offset, and the documented milliseconds since the epoch.
 */

/** The most milliseconds since the epoch, either way, that a `Date` holds. @internal */
export const MAX_DATE_MS = 8.64e15;
const MILLIS = /^\d{1,16}$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))$/;

/**
 * Milliseconds since the epoch of an ISO-8601 date-time (`2026-11-30T10:00:01.200Z`, seconds and
 * fraction optional, `Z` or `±hh:mm`) or of a non-negative whole number of milliseconds up to
 * 8.64e15; `undefined` for anything else, including dates that do not exist (`2024-02-30`).
 * @internal
 */
export function parseQueryTime(value: string): number | undefined {
  if (MILLIS.test(value)) {
    const ms = Number(value);
    return ms <= MAX_DATE_MS ? ms : undefined;
  }
  const match = DATE_TIME.exec(value);
  if (match === null) return undefined;
  const [year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, offsetHour = 0, offsetMinute = 0] = match
    .slice(1)
    .map((part) => Number(part ?? 0));
  const valid =
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= daysIn(year, month) &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 59 &&
    offsetHour <= 23 &&
    offsetMinute <= 59;
  if (!valid) return undefined;
  // Every field checked: the standard parser reads this form exactly.
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}

function daysIn(year: number, month: number): number {
  // Day 0 of the next month is the last of this one; leap years repeat every 400 years.
  return new Date(Date.UTC(2000 + (year % 400), month, 0)).getUTCDate();
}
