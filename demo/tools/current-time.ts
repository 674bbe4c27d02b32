/**
 * The current date and time in an IANA time zone, as one readable line.
 *
 * @param timeZone IANA name such as `Europe/Paris`. @default 'UTC'
 * @throws Error when the time zone is unknown.
 * @example
 * currentTime('Asia/Tokyo'); // 'Thursday, 5 June 2025, 23:04:11 in Asia/Tokyo (GMT+9). ISO: 2025-06-05T14:04:11.000Z'
 */
export function currentTime(timeZone = 'UTC', now: Date = new Date()): string {
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat('en-GB', {
      timeZone,
      dateStyle: 'full',
      timeStyle: 'long',
    });
  } catch {
    throw new Error(`Unknown time zone '${timeZone}'. Use an IANA name such as Europe/Paris or America/New_York.`);
  }
  const zone = format.resolvedOptions().timeZone;
  const parts = format.formatToParts(now);
  const pick = (type: Intl.DateTimeFormatPartTypes) => parts.find((part) => part.type === type)?.value ?? '';
  const date = `${pick('weekday')}, ${pick('day')} ${pick('month')} ${pick('year')}`;
  const time = `${pick('hour')}:${pick('minute')}:${pick('second')}`;
  return `${date}, ${time} in ${zone} (${pick('timeZoneName')}). ISO: ${now.toISOString()}`;
}
