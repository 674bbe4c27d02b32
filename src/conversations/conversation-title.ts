/** Longest title derived from a first message, in characters (an ellipsis included). */
export const MAX_TITLE_LENGTH = 80;

/**
 * A conversation's title, derived from its first message without asking a model: the first
 * non-blank line, whitespace collapsed, cut at a word boundary with an ellipsis when too long.
 * Control characters are dropped so a title is always one clean line for a list.
 *
 * @example
 * titleFromMessage('  What is 12 * 7?\nand then...') // 'What is 12 * 7?'
 */
export function titleFromMessage(message: string, maxLength = MAX_TITLE_LENGTH): string {
  const firstLine =
    message
      .split(/\r\n|\r|\n/)
      .map((line) => line.trim())
      .find((line) => line !== '') ?? '';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
  const clean = firstLine.replace(/\s+/g, ' ').replace(/[\u0000-\u001f\u007f-\u009f]/g, '');
  if (clean === '') return 'New conversation';
  const chars = Array.from(clean);
  if (chars.length <= maxLength) return clean;
  const cut = chars.slice(0, maxLength - 1).join('');
  const lastSpace = cut.lastIndexOf(' ');
  // A word boundary in the last third keeps the title readable; a long word is cut as it is.
  const head = lastSpace > (maxLength * 2) / 3 ? cut.slice(0, lastSpace) : cut;
  return `${head.trimEnd()}…`;
}
