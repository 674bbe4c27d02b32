/**
 * Cuts a text that is longer than `maxChars` in the middle, keeping its head and its tail and
 * putting a marker in between that says how many characters were dropped. The result is never
 * longer than `maxChars` (unless `maxChars` is too small to hold the marker itself, in which case
 * only the marker is returned). Surrogate pairs are never split.
 *
 * Head and tail both matter for tool output: the head holds headers and the start of a listing,
 * the tail often holds totals, the last error or the closing of a JSON document.
 *
 * @example
 * truncateMiddle('a'.repeat(100), 40); // 'aaaaaaaaa\n…[truncated 81 characters]…\naaaaaaaaaa'
 */
export function truncateMiddle(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  // The marker's own length depends on the number it prints; size it for the worst case (every
  // character dropped), so what is kept plus the marker always fits.
  const budget = Math.max(0, maxChars - marker(text.length).length);
  let headEnd = Math.ceil(budget / 2);
  let tailStart = text.length - (budget - headEnd);
  if (headEnd > 0 && isHighSurrogate(text.charCodeAt(headEnd - 1))) headEnd -= 1;
  if (tailStart < text.length && isLowSurrogate(text.charCodeAt(tailStart))) tailStart += 1;
  return `${text.slice(0, headEnd)}${marker(tailStart - headEnd)}${text.slice(tailStart)}`;
}

function marker(dropped: number): string {
  return `\n…[truncated ${dropped} characters]…\n`;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}
