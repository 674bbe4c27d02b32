// Safe Markdown: builds DOM nodes only. Supports paragraphs, headings, bold, italics, strike,
// inline code, fenced code blocks, lists (nested), block quotes, rules, simple tables, and links
// whose href is http(s). Anything else stays plain text, so a model or a tool cannot inject markup.
//
// A render runs on every animation frame while an answer streams, so it must stay about linear in
// the text whatever the model sends: nesting is capped (MAX_DEPTH; deeper blocks or emphasis stay
// text, and nothing recurses once per `>`), the line patterns below have no ambiguous adjacent
// repetitions (they test trimmed lines), and an emphasis or code marker never rescans text that
// an earlier marker of the same kind already searched (see findCloser).

import { el, link, safeHref } from './dom.js';

// FENCE, RULE and TABLE_SEPARATOR test lines without trailing whitespace (the form with `\s*$`
// backtracked quadratically over a long run of spaces); HEADING's closing #s are cut in code.
const FENCE = /^\s{0,3}(`{3,}|~{3,})\s*([\w+#.-]*)$/;
const HEADING = /^\s{0,3}(#{1,6})\s+(.*)$/;
const RULE = /^\s{0,3}([-*_])(?:\s*\1){2,}$/;
const LIST_ITEM = /^(\s*)([-*+]|\d{1,9}[.)])\s+(.*)$/;
const QUOTE = /^\s{0,3}>\s?(.*)$/;
const TABLE_SEPARATOR = /^\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?$/;
/** How deep quotes, lists and emphasis nest; what lies deeper is shown as plain text. */
export const MAX_DEPTH = 32;

const isFence = (line) => FENCE.exec(line.trimEnd());
const isRule = (line) => RULE.test(line.trimEnd());
const isTableSeparator = (line) => TABLE_SEPARATOR.test(line.trim());

function headingOf(line) {
  const match = HEADING.exec(line);
  if (!match) return null;
  // `# Title ##` is "Title": trailing spaces, then closing #s, then spaces again.
  let text = match[2].trimEnd();
  let end = text.length;
  while (end > 0 && text[end - 1] === '#') end--;
  text = text.slice(0, end).trimEnd();
  return { level: match[1].length, text };
}

export function renderMarkdown(source) {
  const fragment = document.createDocumentFragment();
  renderBlocks(String(source).replace(/\r\n?/g, '\n').split('\n'), fragment, 0);
  return fragment;
}

function renderBlocks(lines, parent, depth) {
  if (depth >= MAX_DEPTH) {
    // Too deep (`>>>>…` or a list indented without end): the rest is text, not more levels.
    const p = el('p');
    lines.forEach((text, index) => {
      if (index > 0) p.append(el('br'));
      p.append(document.createTextNode(text));
    });
    parent.append(p);
    return;
  }
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (line.trim() === '') {
      i++;
      continue;
    }
    const fence = isFence(line);
    if (fence) {
      const body = [];
      i++;
      while (i < lines.length && !lines[i].trim().startsWith(fence[1])) body.push(lines[i++]);
      i++; // the closing fence; absent while the answer is still streaming
      const pre = el('pre');
      if (fence[2]) pre.append(el('span', 'lang', fence[2]));
      pre.append(el('code', fence[2] ? `language-${fence[2]}` : '', body.join('\n')));
      parent.append(pre);
      continue;
    }
    const heading = headingOf(line);
    if (heading) {
      const level = Math.min(heading.level + 2, 5);
      const h = el(`h${level}`);
      renderInline(heading.text, h);
      parent.append(h);
      i++;
      continue;
    }
    if (isRule(line)) {
      parent.append(el('hr'));
      i++;
      continue;
    }
    if (QUOTE.test(line)) {
      const inner = [];
      while (i < lines.length && QUOTE.test(lines[i])) inner.push(QUOTE.exec(lines[i++])[1]);
      const quote = el('blockquote');
      renderBlocks(inner, quote, depth + 1);
      parent.append(quote);
      continue;
    }
    if (LIST_ITEM.test(line)) {
      i = renderList(lines, i, parent, depth);
      continue;
    }
    if (line.includes('|') && i + 1 < lines.length && isTableSeparator(lines[i + 1])) {
      i = renderTable(lines, i, parent);
      continue;
    }
    const paragraph = [];
    while (i < lines.length && lines[i].trim() !== '' && (paragraph.length === 0 || !startsBlock(lines[i]))) {
      paragraph.push(lines[i++].trim());
    }
    const p = el('p');
    paragraph.forEach((text, index) => {
      if (index > 0) p.append(el('br'));
      renderInline(text, p);
    });
    parent.append(p);
  }
}

function startsBlock(line) {
  return isFence(line) || HEADING.test(line) || isRule(line) || QUOTE.test(line) || LIST_ITEM.test(line);
}

function indentOf(text) {
  return text.replace(/\t/g, '    ').length;
}

function renderList(lines, start, parent, depth) {
  const first = LIST_ITEM.exec(lines[start]);
  const baseIndent = indentOf(first[1]);
  const ordered = /\d/.test(first[2]);
  const list = el(ordered ? 'ol' : 'ul');
  if (ordered && Number.parseInt(first[2], 10) !== 1) list.start = Number.parseInt(first[2], 10);
  let i = start;
  let item = null;
  let itemLines = [];
  const flush = () => {
    if (!item) return;
    renderListItem(itemLines, item, depth);
    list.append(item);
  };
  while (i < lines.length) {
    const line = lines[i];
    const match = LIST_ITEM.exec(line);
    if (match && indentOf(match[1]) <= baseIndent + 1) {
      if (/\d/.test(match[2]) !== ordered) break;
      flush();
      item = el('li');
      itemLines = [match[3]];
      i++;
      continue;
    }
    if (line.trim() === '') {
      // A blank line ends the list unless the next line continues it (indented or a new item).
      const next = lines[i + 1];
      if (next === undefined || !(LIST_ITEM.test(next) || /^\s{2,}\S/.test(next))) break;
      itemLines.push('');
      i++;
      continue;
    }
    if (/^\s{2,}\S/.test(line) || (match && indentOf(match[1]) > baseIndent + 1)) {
      const leading = line.length - line.trimStart().length;
      itemLines.push(line.slice(Math.min(leading, baseIndent + 2)));
      i++;
      continue;
    }
    if (startsBlock(line)) break;
    itemLines.push(line.trim()); // a lazy continuation of the item's text
    i++;
  }
  flush();
  parent.append(list);
  return i;
}

function renderListItem(itemLines, item, depth) {
  const hasBlocks = itemLines.slice(1).some((l) => l.trim() === '' || startsBlock(l));
  if (!hasBlocks) {
    itemLines.forEach((text, index) => {
      if (index > 0) item.append(el('br'));
      renderInline(text.trim(), item);
    });
    return;
  }
  const firstBlockIndex = itemLines.findIndex((l, index) => index > 0 && (l.trim() === '' || startsBlock(l)));
  itemLines.slice(0, firstBlockIndex).forEach((text, index) => {
    if (index > 0) item.append(el('br'));
    renderInline(text.trim(), item);
  });
  renderBlocks(itemLines.slice(firstBlockIndex), item, depth + 1);
}

function splitRow(line) {
  let row = line.trim();
  if (row.startsWith('|')) row = row.slice(1);
  if (row.endsWith('|')) row = row.slice(0, -1);
  return row.split('|').map((cell) => cell.trim());
}

function renderTable(lines, start, parent) {
  const table = el('table');
  const head = el('thead');
  const headRow = el('tr');
  for (const cell of splitRow(lines[start])) {
    const th = el('th');
    renderInline(cell, th);
    headRow.append(th);
  }
  head.append(headRow);
  table.append(head);
  const body = el('tbody');
  let i = start + 2;
  while (i < lines.length && lines[i].includes('|') && lines[i].trim() !== '') {
    const tr = el('tr');
    for (const cell of splitRow(lines[i])) {
      const td = el('td');
      renderInline(cell, td);
      tr.append(td);
    }
    body.append(tr);
    i++;
  }
  table.append(body);
  parent.append(table);
  return i;
}

const BARE_URL = /^https?:\/\/[^\s<>"'`]+/;
const LINK = /^\[((?:[^[\]\\]|\\.)*)\]\(\s*<?([^\s<>()]+(?:\([^\s()]*\))?)>?(?:\s+"[^"]*")?\s*\)/;

function renderInline(text, parent, depth = 0) {
  let plain = '';
  const flush = () => {
    if (plain) parent.append(document.createTextNode(plain));
    plain = '';
  };
  // Closing markers already searched for in this text (see findCloser and the code spans below).
  const closers = new Map();
  const unclosedTicks = new Set();
  const nested = depth + 1 < MAX_DEPTH; // deeper emphasis and link labels stay text
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '\\' && i + 1 < text.length && /[\\`*_{}[\]()#+\-.!|~<>]/.test(text[i + 1])) {
      plain += text[i + 1];
      i += 2;
      continue;
    }
    if (ch === '`') {
      let run = i;
      while (text[run] === '`') run++;
      const ticks = text.slice(i, run);
      // A run with no closing run after it has none after any later position either.
      const end = unclosedTicks.has(ticks) ? -1 : text.indexOf(ticks, run);
      if (end !== -1) {
        flush();
        parent.append(el('code', '', text.slice(run, end).replace(/^ (.*) $/, '$1')));
        i = end + ticks.length;
        continue;
      }
      unclosedTicks.add(ticks);
      plain += ticks;
      i = run;
      continue;
    }
    if (nested && (ch === '*' || ch === '_' || ch === '~')) {
      const emphasis = matchEmphasis(text, i, closers);
      if (emphasis) {
        flush();
        const node = el(emphasis.tag);
        renderInline(emphasis.inner, node, depth + 1);
        parent.append(node);
        i = emphasis.end;
        continue;
      }
    }
    if (nested && ch === '[') {
      const match = LINK.exec(text.slice(i));
      if (match) {
        const href = safeHref(match[2]);
        flush();
        if (href) {
          const label = document.createDocumentFragment();
          renderInline(match[1], label, depth + 1);
          parent.append(link(href, label));
        } else {
          // Not http(s) (javascript:, data:, relative…): keep the label, drop the link.
          renderInline(match[1], parent, depth + 1);
        }
        i += match[0].length;
        continue;
      }
    }
    if ((ch === 'h' || ch === 'H') && (i === 0 || /[\s(]/.test(text[i - 1]))) {
      const match = BARE_URL.exec(text.slice(i));
      if (match) {
        const url = match[0].replace(/[.,;:!?)\]]+$/, '');
        const href = safeHref(url);
        if (href) {
          flush();
          parent.append(link(href, url));
          i += url.length;
          continue;
        }
      }
    }
    plain += ch;
    i++;
  }
  flush();
}

function matchEmphasis(text, i, closers) {
  const ch = text[i];
  const double = text[i + 1] === ch;
  if (ch === '~' && !double) return null;
  const marker = double ? ch + ch : ch;
  const start = i + marker.length;
  const after = text[start];
  if (after === undefined || /\s/.test(after)) return null;
  // Underscores inside words (snake_case) are not emphasis.
  if (ch === '_' && i > 0 && /[\p{L}\p{N}]/u.test(text[i - 1])) return null;
  const end = findCloser(text, marker, start + 1, closers);
  if (end === -1) return null;
  const tag = ch === '~' ? 'del' : double ? 'strong' : 'em';
  return { tag, inner: text.slice(start, end), end: end + marker.length };
}

/**
 * The first position at or after `from` where `marker` can close emphasis, or -1. Whether a
 * position closes depends on the text around it only, not on the opener, so the answer found for
 * one opener also serves every later opener up to that position (and -1 serves all of them): the
 * openers of one text share their searches through `closers`, and each stretch of text is scanned
 * once per marker. Searching from every opener anew took quadratic time (`*a *a *a …`).
 */
function findCloser(text, marker, from, closers) {
  const known = closers.get(marker);
  if (known && known.from <= from && (known.at === -1 || known.at >= from)) return known.at;
  const ch = marker[0];
  const double = marker.length === 2;
  let at = -1;
  let search = from;
  for (;;) {
    const end = text.indexOf(marker, search);
    if (end === -1) break;
    const before = text[end - 1];
    const next = text[end + marker.length];
    const closes =
      !/\s/.test(before) &&
      (double || next !== ch) &&
      !(ch === '_' && next !== undefined && /[\p{L}\p{N}]/u.test(next));
    if (closes) {
      at = end;
      break;
    }
    search = end + 1;
  }
  closers.set(marker, { from, at });
  return at;
}

/** Splits `<think>…</think>` reasoning (some models emit it) from the answer. */
function splitThinking(text) {
  const thoughts = [];
  const answer = text.replace(/<think>([\s\S]*?)(?:<\/think>|$)/g, (_, inner) => {
    thoughts.push(inner.trim());
    return '';
  });
  return { thoughts: thoughts.filter(Boolean), answer };
}

export function renderAnswer(text, container, streaming) {
  const { thoughts, answer } = splitThinking(text);
  const nodes = [];
  if (thoughts.length > 0) {
    const details = el('details', 'thinking');
    details.append(el('summary', '', 'Reasoning'));
    const body = el('div', 'markdown');
    body.append(renderMarkdown(thoughts.join('\n\n')));
    details.append(body);
    nodes.push(details);
  }
  const fragment = renderMarkdown(answer);
  if (streaming) {
    // Put the caret at the end of the last block so it follows the text.
    const caret = el('span', 'caret');
    caret.setAttribute('aria-hidden', 'true');
    let last = fragment.lastChild;
    while (last?.lastChild && last.lastChild.nodeType === 1 && !['PRE', 'CODE', 'BR'].includes(last.nodeName))
      last = last.lastChild;
    if (last && last.nodeType === 1 && last.nodeName !== 'PRE' && last.nodeName !== 'BR') last.append(caret);
    else fragment.append(caret);
  }
  nodes.push(fragment);
  container.replaceChildren(...nodes);
}
