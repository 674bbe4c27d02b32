/** Longest title derived from a first message, in characters (an ellipsis included). */
export const MAX_TITLE_LENGTH = 80;

/**
 * Characters a title never keeps: C0/C1 controls other than whitespace (which becomes a space),
 * bidi marks, embeddings, overrides and isolates (they reorder what the list draws after the
 * title: `\u202E` shows `safe exe.png` for `safe gnp.exe`), and invisible characters that
 * only make two titles that look the same differ (zero-width space, word joiner,
 * invisible operators, BOM, and the deprecated and interlinear format characters).
 */
const DROPPED =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
  /[\u0000-\u0008\u000e-\u001f\u007f-\u009f\u061c\u180e\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]/gu;

/** Zero-width joiner and tag characters: they build emoji (👨‍👩‍👧, 🏴 subdivision flags), and are invisible anywhere else. */
const EMOJI_GLUE = /[\u200d\u{e0000}-\u{e007f}]/gu;
const PICTOGRAPHIC = /\p{Extended_Pictographic}/u;
/**
 * Runs of whitespace that are not already one plain space. Same result as `/\s+/g`, but a line of
 * single spaces between words (or glue) leaves nothing to replace: it stays fast on a megabyte.
 */
const UNCOLLAPSED_SPACE = / ?[^\S ]\s*| {2,}\s*/g;

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
// UTF-16 units a title's character may take, with invisible glue around it, before the rest of
// a line counts as junk.
const WINDOW_PER_CHAR = 8;

/**
 * A conversation's title, derived from its first message without asking a model: the first
 * line with something visible, whitespace collapsed, cut at a word boundary with an ellipsis when
 * too long. Controls and invisible format characters are dropped so a title is always one clean
 * line for a list, and a cut never splits a character a reader sees as one (an emoji sequence,
 * a flag, a letter with its accents).
 *
 * @example
 * titleFromMessage('  What is 12 * 7?\nand then...') // 'What is 12 * 7?'
 */
export function titleFromMessage(message: string, maxLength = MAX_TITLE_LENGTH): string {
  for (const line of message.split(/\r\n|\r|\n/)) {
    // Most lines are blank or plain: the trim skips blank ones before the costlier cleaning.
    if (line.trim() === '') continue;
    const clean = withoutLeadingBlank(line.replace(DROPPED, '').replace(UNCOLLAPSED_SPACE, ' '));
    // A line of nothing but invisible characters is as blank as an empty one.
    if (clean === '') continue;
    const { text, cut } = firstChars(clean, maxLength);
    if (!cut) return text.trimEnd();
    const head = firstChars(text, maxLength - 1).text;
    const lastSpace = head.lastIndexOf(' ');
    // A word boundary in the last third keeps the title readable; a long word is cut as it is.
    const shown = lastSpace > (maxLength * 2) / 3 ? head.slice(0, lastSpace) : head;
    return `${shown.trimEnd()}…`;
  }
  return 'New conversation';
}

/**
 * The longest run of whole grapheme clusters from the start of `line` (whitespace already
 * collapsed) within `max` code points, the unit titles have always been measured in, and whether
 * anything was left out. Emoji glue goes outside emoji, and leading or doubled spaces with it.
 */
function firstChars(line: string, max: number): { text: string; cut: boolean } {
  // V8's segmenter spends time in the whole string's length on every cluster (quadratic on a
  // megabyte message): it only ever sees as much as a title could use, glue and spaces included.
  const window = Math.max(16, max * WINDOW_PER_CHAR);
  const partial = line.length > window;
  const clusters: string[] = [];
  let length = 0;
  for (const { segment } of graphemes.segment(partial ? line.slice(0, window) : line)) {
    let cluster = PICTOGRAPHIC.test(segment) ? segment : segment.replace(EMOJI_GLUE, '');
    // Glue dropped next to a space (`a \u200d b`) must not leave two spaces, or one in front.
    if (cluster.startsWith(' ') && (clusters.at(-1)?.endsWith(' ') ?? true)) cluster = cluster.slice(1);
    const size = codePoints(cluster);
    if (size === 0) continue;
    if (length + size > max) {
      // One cluster longer than the whole title (a letter under thousands of accents) is junk:
      // cutting it is better than a title of nothing but an ellipsis.
      return {
        text: clusters.length === 0 ? Array.from(cluster).slice(0, max).join('') : clusters.join(''),
        cut: true,
      };
    }
    clusters.push(cluster);
    length += size;
  }
  // The window may end inside a cluster, which then is not whole (unless it is all there is).
  if (partial && clusters.length > 1) clusters.pop();
  return { text: clusters.join(''), cut: partial };
}

/**
 * `text` from its first character that is neither a space nor emoji glue: glue there follows no
 * emoji, so it joins nothing. A loop, not a regex: a megabyte of glue costs a regex ~0.3 s.
 */
function withoutLeadingBlank(text: string): string {
  let start = 0;
  while (start < text.length) {
    const unit = text.charCodeAt(start);
    if (unit === 0x20 || unit === 0x200d) start += 1;
    // Tag characters U+E0000–E007F: the surrogate pair DB40, DC00–DC7F.
    else if (unit === 0xdb40 && (text.charCodeAt(start + 1) & 0xff80) === 0xdc00) start += 2;
    else break;
  }
  return text.slice(start);
}

function codePoints(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}
