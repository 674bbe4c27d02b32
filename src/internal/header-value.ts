/** Tab, LF, CR and space: what fetch trims from both ends of a header value before checking it. */
function isHttpWhitespace(code: number): boolean {
  return code === 9 || code === 10 || code === 13 || code === 32;
}

// What an HTTP client accepts inside a header value: tab, visible ASCII and Latin-1.
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * Whether fetch (and undici) can send `value` as a header value: once the whitespace at its ends
 * is trimmed, as fetch does, no line break, other control character or character beyond Latin-1
 * is left. One pass over the string: a single regex for "trimmed, then valid" backtracks for
 * minutes on a long run of whitespace.
 * @internal
 */
export function isSendableHeaderValue(value: string): boolean {
  let start = 0;
  let end = value.length;
  while (start < end && isHttpWhitespace(value.charCodeAt(start))) start++;
  while (end > start && isHttpWhitespace(value.charCodeAt(end - 1))) end--;
  return HEADER_VALUE.test(start === 0 && end === value.length ? value : value.slice(start, end));
}
