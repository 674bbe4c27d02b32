// Safe Markdown: builds DOM nodes only. Supports paragraphs, headings, bold, italics, strike,
// inline code, fenced code blocks, lists (nested), block quotes, rules, simple tables, and links
// whose href is http(s). Anything else stays plain text, so a model or a tool cannot inject markup.

import { el, link, safeHref } from './dom.js';

const FENCE = /^\s{0,3}(`{3,}|~{3,})\s*([\w+#.-]*)\s*$/;
const HEADING = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const RULE = /^\s{0,3}([-*_])(\s*\1){2,}\s*$/;
const LIST_ITEM = /^(\s*)([-*+]|\d{1,9}[.)])\s+(.*)$/;
const QUOTE = /^\s{0,3}>\s?(.*)$/;
const TABLE_SEPARATOR = /^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$/;

export function renderMarkdown(source) {
  const fragment = document.createDocumentFragment();
  renderBlocks(String(source).replace(/\r\n?/g, '\n').split('\n'), fragment);
  return fragment;
}

function renderBlocks(lines, parent) {
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (line.trim() === '') {
      i++;
      continue;
    }
    const fence = FENCE.exec(line);
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
    const heading = HEADING.exec(line);
    if (heading) {
      const level = Math.min(heading[1].length + 2, 5);
      const h = el(`h${level}`);
      renderInline(heading[2], h);
      parent.append(h);
      i++;
      continue;
    }
    if (RULE.test(line)) {
      parent.append(el('hr'));
      i++;
      continue;
    }
    if (QUOTE.test(line)) {
      const inner = [];
      while (i < lines.length && QUOTE.test(lines[i])) inner.push(QUOTE.exec(lines[i++])[1]);
      const quote = el('blockquote');
      renderBlocks(inner, quote);
      parent.append(quote);
      continue;
    }
    if (LIST_ITEM.test(line)) {
      i = renderList(lines, i, parent);
      continue;
    }
    if (line.includes('|') && i + 1 < lines.length && TABLE_SEPARATOR.test(lines[i + 1])) {
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
  return FENCE.test(line) || HEADING.test(line) || RULE.test(line) || QUOTE.test(line) || LIST_ITEM.test(line);
}

function indentOf(text) {
  return text.replace(/\t/g, '    ').length;
}

function renderList(lines, start, parent) {
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
    renderListItem(itemLines, item);
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

function renderListItem(itemLines, item) {
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
  renderBlocks(itemLines.slice(firstBlockIndex), item);
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

function renderInline(text, parent) {
  let plain = '';
  const flush = () => {
    if (plain) parent.append(document.createTextNode(plain));
    plain = '';
  };
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    const rest = text.slice(i);
    if (ch === '\\' && i + 1 < text.length && /[\\`*_{}[\]()#+\-.!|~<>]/.test(text[i + 1])) {
      plain += text[i + 1];
      i += 2;
      continue;
    }
    if (ch === '`') {
      const ticks = /^`+/.exec(rest)[0];
      const end = text.indexOf(ticks, i + ticks.length);
      if (end !== -1) {
        flush();
        parent.append(el('code', '', text.slice(i + ticks.length, end).replace(/^ (.*) $/, '$1')));
        i = end + ticks.length;
        continue;
      }
      plain += ticks;
      i += ticks.length;
      continue;
    }
    if (ch === '*' || ch === '_' || ch === '~') {
      const emphasis = matchEmphasis(text, i);
      if (emphasis) {
        flush();
        const node = el(emphasis.tag);
        renderInline(emphasis.inner, node);
        parent.append(node);
        i = emphasis.end;
        continue;
      }
    }
    if (ch === '[') {
      const match = LINK.exec(rest);
      if (match) {
        const href = safeHref(match[2]);
        flush();
        if (href) {
          const label = document.createDocumentFragment();
          renderInline(match[1], label);
          parent.append(link(href, label));
        } else {
          // Not http(s) (javascript:, data:, relative…): keep the label, drop the link.
          renderInline(match[1], parent);
        }
        i += match[0].length;
        continue;
      }
    }
    if ((ch === 'h' || ch === 'H') && (i === 0 || /[\s(]/.test(text[i - 1]))) {
      const match = BARE_URL.exec(rest);
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

function matchEmphasis(text, i) {
  const ch = text[i];
  const double = text[i + 1] === ch;
  if (ch === '~' && !double) return null;
  const marker = double ? ch + ch : ch;
  const start = i + marker.length;
  const after = text[start];
  if (after === undefined || /\s/.test(after)) return null;
  // Underscores inside words (snake_case) are not emphasis.
  if (ch === '_' && i > 0 && /[\p{L}\p{N}]/u.test(text[i - 1])) return null;
  let search = start + 1;
  while (search <= text.length) {
    const end = text.indexOf(marker, search);
    if (end === -1) return null;
    const before = text[end - 1];
    const next = text[end + marker.length];
    const closes =
      !/\s/.test(before) &&
      (double || next !== ch) &&
      !(ch === '_' && next !== undefined && /[\p{L}\p{N}]/u.test(next));
    if (closes) {
      const tag = ch === '~' ? 'del' : double ? 'strong' : 'em';
      return { tag, inner: text.slice(start, end), end: end + marker.length };
    }
    search = end + 1;
  }
  return null;
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
