// The message list: user bubbles, streamed answers with their tool cards, and history redraws.

import { el } from './dom.js';
import { renderAnswer } from './markdown.js';

/** A small status badge under an answer. */
export function badge(text, className) {
  return el('span', `badge ${className || ''}`.trim(), text);
}

/**
 * Draws messages into the chat column. `ui` holds the scrolling `chat` element, the `empty`
 * placeholder and the `messages` list.
 */
export function createMessageList(ui) {
  // While a history is redrawn nothing reads the layout: each read would lay out the whole
  // growing list again (50 turns took half a second). One scroll follows the redraw.
  let redrawing = false;

  function isNearBottom() {
    if (redrawing) return true;
    return ui.chat.scrollHeight - ui.chat.scrollTop - ui.chat.clientHeight < 120;
  }

  function scrollToBottom() {
    if (redrawing) return;
    ui.chat.scrollTop = ui.chat.scrollHeight;
  }

  function appendMessage(node) {
    ui.empty.hidden = true;
    ui.messages.append(node);
    scrollToBottom();
  }

  function addUserMessage(text) {
    const item = el('li', 'msg user');
    item.append(el('div', 'bubble', text));
    appendMessage(item);
  }

  function addAssistantMessage() {
    const item = el('li', 'msg assistant');
    item.dataset.state = 'streaming';
    item.append(el('div', 'avatar', 'AI'));
    const body = el('div', 'body');
    const tools = el('div', 'tools');
    const typing = el('div', 'typing');
    typing.setAttribute('aria-label', 'The model is thinking');
    typing.append(el('span'), el('span'), el('span'));
    const bubble = el('div', 'bubble markdown');
    const meta = el('div', 'meta');
    body.append(tools, typing, bubble, meta);
    item.append(body);
    appendMessage(item);

    let text = '';
    let scheduled = false;
    const cards = new Map();
    const render = () => {
      scheduled = false;
      const stick = isNearBottom();
      try {
        renderAnswer(text, bubble, item.dataset.state === 'streaming');
      } catch {
        // Whatever an answer holds, it must not break the page: shown as plain text instead.
        bubble.textContent = plainText(text);
      }
      if (stick) scrollToBottom();
    };
    const schedule = () => {
      if (!scheduled) {
        scheduled = true;
        // Skipped when finish() rendered meanwhile (a history redraw): no second Markdown pass.
        requestAnimationFrame(() => {
          if (scheduled) render();
        });
      }
    };
    const hideTyping = () => {
      typing.remove();
    };

    return {
      item,
      get text() {
        return text;
      },
      appendToken(chunk) {
        hideTyping();
        text += chunk;
        schedule();
      },
      setText(full) {
        text = full;
        schedule();
      },
      toolStart(event) {
        hideTyping();
        const card = toolCard(event);
        cards.set(event.id || `${event.tool}-${cards.size}`, card);
        tools.append(card.root);
        const stick = isNearBottom();
        if (stick) scrollToBottom();
      },
      /** Shows a question of this turn (an approval or elicitation card, js/asks.js). */
      addAsk(node) {
        hideTyping();
        tools.append(node);
        scrollToBottom();
      },
      toolEnd(event, failed) {
        let card = cards.get(event.id);
        if (!card) {
          card = toolCard(event);
          cards.set(event.id, card);
          tools.append(card.root);
        }
        card.finish(event, failed);
      },
      finish(kind, detail) {
        hideTyping();
        item.dataset.state = kind;
        for (const card of cards.values()) card.abandon();
        const stick = isNearBottom();
        render();
        if (detail) meta.append(detail);
        if (stick) scrollToBottom();
      },
      addError(message) {
        hideTyping();
        body.insertBefore(el('div', 'error-box', message), meta);
        scrollToBottom();
      },
    };
  }

  const WRENCH_PATH =
    'M14.7 6.3a1 1 0 0 0 0 1.4l1.6 1.6a1 1 0 0 0 1.4 0l3.77-3.77a6 6 0 0 1-7.94 7.94l-6.91 6.91a2.12 2.12 0 0 1-3-3l6.91-6.91a6 6 0 0 1 7.94-7.94l-3.76 3.76z';

  function wrenchIcon() {
    const ns = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('fill', 'none');
    svg.setAttribute('stroke', 'currentColor');
    svg.setAttribute('stroke-width', '2');
    svg.setAttribute('stroke-linecap', 'round');
    svg.setAttribute('stroke-linejoin', 'round');
    const path = document.createElementNS(ns, 'path');
    path.setAttribute('d', WRENCH_PATH);
    svg.append(path);
    return svg;
  }

  function formatValue(value) {
    if (typeof value === 'string') return value;
    try {
      return JSON.stringify(value, null, 2);
    } catch {
      return String(value);
    }
  }

  function toolCard(event) {
    const root = el('details', 'tool-card');
    root.dataset.state = 'running';
    root.dataset.tool = event.tool || '';
    const summary = el('summary');
    const icon = el('span', 'tool-icon');
    icon.append(wrenchIcon());
    const status = el('span', 'tool-status', 'Running…');
    summary.append(
      icon,
      el('span', 'tool-label', 'Tool'),
      el('span', 'tool-name', event.tool || event.id || 'tool'),
      status,
    );
    const body = el('div', 'tool-body');
    const section = (title, value, className) => {
      const wrap = el('div', `tool-section ${className || ''}`.trim());
      wrap.append(el('h4', '', title), el('pre', '', formatValue(value)));
      body.append(wrap);
    };
    if (event.input !== undefined) section('Input', event.input, 'input');
    root.append(summary, body);
    // A card redrawn from the history has no times: it says Done without a duration.
    const started = event.start ? Date.parse(event.start) : Number.NaN;
    let done = false;
    return {
      root,
      finish(end, failed) {
        done = true;
        if (failed) {
          root.dataset.state = 'error';
          status.textContent = 'Failed';
          section('Error', end.error ?? 'The tool failed.', 'error');
          root.open = true;
        } else {
          root.dataset.state = 'done';
          const finished = end.end ? Date.parse(end.end) : Number.NaN;
          const ms = Number.isFinite(finished - started) ? Math.max(0, finished - started) : null;
          status.textContent =
            ms === null ? 'Done' : `Done · ${ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`}`;
          section('Output', end.output ?? '', 'output');
        }
      },
      abandon() {
        if (done) return;
        done = true;
        root.dataset.state = 'error';
        status.textContent = 'Cancelled';
      },
    };
  }

  function showSystemError(message) {
    const item = el('li', 'msg assistant');
    item.append(el('div', 'avatar', '!'));
    const body = el('div', 'body');
    body.append(el('div', 'error-box', message));
    item.append(body);
    appendMessage(item);
  }

  /** Empties the list (switching conversations). */
  function clear() {
    ui.messages.replaceChildren();
    ui.empty.hidden = false;
  }

  /** Redraws saved turns from `GET /history` messages. */
  function drawHistory(messages) {
    redrawing = true;
    try {
      drawMessages(messages);
    } finally {
      redrawing = false;
    }
    scrollToBottom();
  }

  function drawMessages(messages) {
    for (const message of Array.isArray(messages) ? messages : []) {
      const before = ui.messages.lastChild;
      try {
        drawMessage(message);
      } catch {
        // One odd message (a tool call list that is not a list…) must not stop the others:
        // whatever it drew is replaced by its text.
        while (ui.messages.lastChild && ui.messages.lastChild !== before) ui.messages.lastChild.remove();
        if (message?.role === 'user') {
          addUserMessage(plainText(message.content));
          continue;
        }
        const item = el('li', 'msg assistant');
        item.dataset.state = 'done';
        const body = el('div', 'body');
        body.append(el('div', 'bubble', plainText(message?.content)));
        item.append(el('div', 'avatar', 'AI'), body);
        appendMessage(item);
      }
    }
  }

  function plainText(value) {
    if (typeof value === 'string') return value;
    try {
      return JSON.stringify(value) ?? '';
    } catch {
      return String(value);
    }
  }

  function drawMessage(message) {
    if (message.role === 'user') {
      addUserMessage(message.content);
      return;
    }
    const answer = addAssistantMessage();
    for (const call of message.tool_calls || []) {
      answer.toolStart({ id: call.id, tool: call.tool, input: call.input });
      if (call.error !== undefined) answer.toolEnd({ id: call.id, tool: call.tool, error: call.error }, true);
      else if ('output' in call) answer.toolEnd({ id: call.id, tool: call.tool, output: call.output }, false);
    }
    answer.setText(message.content || '');
    if (message.stopped) answer.finish('stopped', badge('Stopped', 'stopped'));
    else if (message.interrupted) answer.finish('error', badge('Interrupted', 'stopped'));
    else answer.finish('done');
  }

  return { addUserMessage, addAssistantMessage, showSystemError, clear, drawHistory, scrollToBottom };
}
