// The mcp-llmchat demo page: plain JavaScript, no build step, no third-party code.
// Model text only ever reaches the page through textContent and createElement (see renderMarkdown),
// never through innerHTML, so a model or a tool cannot inject markup or scripts.

(() => {
  const API = '/llmchat';
  const SCRIPTED_MODEL_ID = 'demo-scripted';
  const USER_KEY = 'mcp-llmchat-demo-user';
  const MODEL_KEY = 'mcp-llmchat-demo-model';
  const NOTICE_KEY = 'mcp-llmchat-demo-notice-hidden';

  // ---------------------------------------------------------------------------------------------
  // Identity: a random id per browser tab. A real app authenticates its users its own way.
  // ---------------------------------------------------------------------------------------------
  function demoUserId() {
    let id = sessionStorage.getItem(USER_KEY);
    if (!id || !/^[A-Za-z0-9_-]{6,64}$/.test(id)) {
      const bytes = crypto.getRandomValues(new Uint8Array(12));
      id = `tab-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
      sessionStorage.setItem(USER_KEY, id);
    }
    // The cookie is a fallback for clients that cannot set headers (the header wins on the server),
    // and what identifies the tab when an MCP server's authorization page sends the browser back
    // to /llmchat/oauth/callback: a top-level navigation from another site, which only carries
    // SameSite=Lax cookies, not Strict ones.
    // biome-ignore lint/suspicious/noDocumentCookie: one session cookie, no need for the Cookie Store API
    document.cookie = `demo_user=${id}; path=/; SameSite=Lax`;
    return id;
  }

  // ---------------------------------------------------------------------------------------------
  // Safe Markdown: builds DOM nodes only. Supports paragraphs, headings, bold, italics, strike,
  // inline code, fenced code blocks, lists (nested), block quotes, rules, simple tables, and links
  // whose href is http(s). Anything else stays plain text.
  // ---------------------------------------------------------------------------------------------
  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function safeHref(raw) {
    try {
      const url = new URL(raw);
      return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
    } catch {
      return null;
    }
  }

  function link(href, label) {
    const a = el('a');
    a.href = href;
    a.target = '_blank';
    a.rel = 'noopener noreferrer nofollow';
    if (typeof label === 'string') a.textContent = label;
    else a.append(label);
    return a;
  }

  const FENCE = /^\s{0,3}(`{3,}|~{3,})\s*([\w+#.-]*)\s*$/;
  const HEADING = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
  const RULE = /^\s{0,3}([-*_])(\s*\1){2,}\s*$/;
  const LIST_ITEM = /^(\s*)([-*+]|\d{1,9}[.)])\s+(.*)$/;
  const QUOTE = /^\s{0,3}>\s?(.*)$/;
  const TABLE_SEPARATOR = /^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$/;

  function renderMarkdown(source) {
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

  function renderAnswer(text, container, streaming) {
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

  // ---------------------------------------------------------------------------------------------
  // Server-Sent Events over fetch: blocks end with a blank line; `event:`, `data:`, `id:` fields;
  // lines starting with `:` are comments (keep-alive pings).
  // ---------------------------------------------------------------------------------------------
  function createSseParser(onEvent) {
    let buffer = '';
    const dispatch = (block) => {
      let event = 'message';
      let id = null;
      const data = [];
      for (const line of block.split('\n')) {
        if (line === '' || line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        let value = colon === -1 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
        else if (field === 'id') id = value;
      }
      if (data.length === 0) return;
      const raw = data.join('\n');
      let payload;
      try {
        payload = JSON.parse(raw);
      } catch {
        payload = raw;
      }
      onEvent({ event, id, data: payload });
    };
    return {
      push(chunk) {
        buffer += chunk;
        // A chunk may end between \r and \n: keep a trailing \r until the next chunk.
        const keep = buffer.endsWith('\r') ? '\r' : '';
        let text = (keep ? buffer.slice(0, -1) : buffer).replace(/\r\n?/g, '\n');
        let end = text.indexOf('\n\n');
        while (end !== -1) {
          dispatch(text.slice(0, end));
          text = text.slice(end + 2);
          end = text.indexOf('\n\n');
        }
        buffer = text + keep;
      },
      end() {
        if (buffer.trim() !== '') dispatch(buffer.replace(/\r\n?/g, '\n'));
        buffer = '';
      },
    };
  }

  // ---------------------------------------------------------------------------------------------
  // The app
  // ---------------------------------------------------------------------------------------------
  const $ = (id) => document.getElementById(id);
  const ui = {
    modelSelect: $('model-select'),
    status: $('status'),
    statusText: $('status-text'),
    statusExtra: $('status-extra'),
    connectButton: $('connect-button'),
    notice: $('notice'),
    noticeClose: $('notice-close'),
    chat: $('chat'),
    empty: $('empty'),
    toolsLine: $('tools-line'),
    messages: $('messages'),
    composer: $('composer'),
    input: $('input'),
    sendButton: $('send-button'),
    stopButton: $('stop-button'),
  };

  const state = {
    userId: demoUserId(),
    mcpServerUrl: null,
    models: [],
    connected: false,
    connecting: null,
    turn: null, // { controller } while an answer streams
  };

  function headers() {
    return { 'content-type': 'application/json', 'x-demo-user': state.userId };
  }

  async function api(path, init = {}) {
    const response = await fetch(API + path, { ...init, headers: { ...headers(), ...(init.headers || {}) } });
    if (!response.ok) throw await httpError(response);
    return response.json();
  }

  async function httpError(response) {
    let detail = `${response.status} ${response.statusText}`.trim();
    let code = null;
    let authorizationUrl = null;
    try {
      const body = await response.json();
      if (body && typeof body.detail === 'string') detail = body.detail;
      else if (body && Array.isArray(body.detail)) detail = body.detail.map((d) => d.msg || String(d)).join('; ');
      if (body && typeof body.code === 'string') code = body.code;
      if (body && typeof body.authorization_url === 'string') authorizationUrl = body.authorization_url;
    } catch {
      // Not JSON: keep the status line.
    }
    const error = new Error(detail);
    error.code = code;
    error.authorizationUrl = authorizationUrl;
    error.status = response.status;
    return error;
  }

  function setStatus(kind, text, extra = '') {
    ui.status.dataset.state = kind;
    ui.statusText.textContent = text;
    ui.statusExtra.textContent = extra;
    ui.connectButton.textContent = kind === 'connected' ? 'Disconnect' : 'Connect';
    ui.connectButton.disabled = kind === 'connecting' || state.models.length === 0;
  }

  function selectedModel() {
    return state.models.find((m) => m.model_id === ui.modelSelect.value) || null;
  }

  function updateNotice() {
    const scripted = selectedModel()?.model_id === SCRIPTED_MODEL_ID;
    ui.notice.hidden = !scripted || sessionStorage.getItem(NOTICE_KEY) === '1';
  }

  async function loadModels() {
    try {
      const info = await fetch('/demo/info').then((r) => (r.ok ? r.json() : null));
      if (info && typeof info.mcp_server_url === 'string') state.mcpServerUrl = info.mcp_server_url;
    } catch {
      // Without the info endpoint the handler's default server is used.
    }
    const body = await api('/gateway/models');
    state.models = Array.isArray(body.models) ? body.models : [];
    ui.modelSelect.replaceChildren();
    for (const model of state.models) {
      const option = el(
        'option',
        '',
        `${model.model_name || model.model_id} · ${model.provider_name || model.provider_type}`,
      );
      option.value = model.model_id;
      ui.modelSelect.append(option);
    }
    if (state.models.length === 0) {
      ui.modelSelect.append(el('option', '', 'No models configured'));
      throw new Error('The server lists no models.');
    }
    const saved = sessionStorage.getItem(MODEL_KEY);
    if (saved && state.models.some((m) => m.model_id === saved)) ui.modelSelect.value = saved;
    ui.modelSelect.disabled = false;
    updateNotice();
  }

  function connect() {
    if (state.connecting) return state.connecting;
    const model = selectedModel();
    if (!model) return Promise.reject(new Error('Pick a model first.'));
    setStatus('connecting', 'Connecting…');
    const body = { user_id: state.userId, llm: { model: model.model_id }, streaming: true };
    if (state.mcpServerUrl) body.server = { url: state.mcpServerUrl, transport: 'streamable_http' };
    state.connecting = api('/connect', { method: 'POST', body: JSON.stringify(body) })
      .then((result) => {
        state.connected = true;
        const tools = Array.isArray(result.tools) ? result.tools : [];
        const count = typeof result.tool_count === 'number' ? result.tool_count : tools.length;
        setStatus('connected', 'Connected', ` · ${count} tool${count === 1 ? '' : 's'}`);
        ui.status.title = tools.join(', ');
        showTools(tools);
      })
      .catch((error) => {
        state.connected = false;
        setStatus('error', 'Not connected');
        if (error.code === 'MCP_AUTHORIZATION_REQUIRED') authorize(error.authorizationUrl);
        throw error;
      })
      .finally(() => {
        state.connecting = null;
      });
    return state.connecting;
  }

  // The MCP server needs the user's consent (OAuth): go to its authorization page. It comes back
  // through /llmchat/oauth/callback to this page with ?oauth=connected, which connects again.
  function authorize(url) {
    if (!safeHref(url)) return;
    setStatus('connecting', 'Authorizing…');
    window.location.assign(url);
  }

  function showTools(tools) {
    ui.toolsLine.replaceChildren();
    if (tools.length === 0) {
      ui.toolsLine.hidden = true;
      return;
    }
    ui.toolsLine.append(document.createTextNode('Tools available: '));
    tools.forEach((name, index) => {
      if (index > 0) ui.toolsLine.append(document.createTextNode(' '));
      ui.toolsLine.append(el('code', '', name));
    });
    ui.toolsLine.hidden = false;
  }

  async function disconnect() {
    stopTurn();
    try {
      await api('/disconnect', { method: 'POST', body: JSON.stringify({ user_id: state.userId }) });
    } catch {
      // The local state is cleared either way.
    }
    state.connected = false;
    setStatus('disconnected', 'Disconnected');
  }

  function showSystemError(message) {
    const item = el('li', 'msg assistant');
    item.append(el('div', 'avatar', '!'));
    const body = el('div', 'body');
    body.append(el('div', 'error-box', message));
    item.append(body);
    appendMessage(item);
  }

  // ----- messages --------------------------------------------------------------------------------
  function isNearBottom() {
    return ui.chat.scrollHeight - ui.chat.scrollTop - ui.chat.clientHeight < 120;
  }

  function scrollToBottom() {
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
      renderAnswer(text, bubble, item.dataset.state === 'streaming');
      if (stick) scrollToBottom();
    };
    const schedule = () => {
      if (!scheduled) {
        scheduled = true;
        requestAnimationFrame(render);
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
    const started = event.start ? Date.parse(event.start) : Date.now();
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
          const finished = end.end ? Date.parse(end.end) : Date.now();
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

  function badge(text, className) {
    return el('span', `badge ${className || ''}`.trim(), text);
  }

  // ----- a turn ----------------------------------------------------------------------------------
  function setBusy(busy) {
    ui.sendButton.hidden = busy;
    ui.stopButton.hidden = !busy;
    ui.modelSelect.disabled = busy || state.models.length === 0;
  }

  function stopTurn() {
    if (state.turn) state.turn.controller.abort();
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  async function postChat(message, signal) {
    let reconnected = false;
    for (let attempt = 0; ; attempt++) {
      const response = await fetch(`${API}/chat`, {
        method: 'POST',
        headers: { ...headers(), accept: 'text/event-stream' },
        body: JSON.stringify({ user_id: state.userId, message, streaming: true }),
        signal,
      });
      if (response.ok) return response;
      const error = await httpError(response);
      // The previous (stopped) turn may still be releasing its lock for a moment.
      if (error.code === 'TURN_IN_PROGRESS' && attempt < 5) {
        await sleep(300);
        continue;
      }
      // Sessions expire when idle: reconnect once, then try again.
      if ((error.code === 'SESSION_NOT_FOUND' || error.code === 'SESSION_EXPIRED') && !reconnected) {
        reconnected = true;
        state.connected = false;
        await connect();
        continue;
      }
      throw error;
    }
  }

  async function send(message) {
    if (state.turn || message.trim() === '') return;
    const controller = new AbortController();
    state.turn = { controller };
    setBusy(true);
    addUserMessage(message);
    const answer = addAssistantMessage();
    const startedAt = performance.now();
    let outcome = null; // 'final' | 'error'

    try {
      if (!state.connected) await connect();
      const response = await postChat(message, controller.signal);
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      const parser = createSseParser(({ event, data }) => {
        if (outcome) return;
        switch (event) {
          case 'token':
            if (data && typeof data.content === 'string') answer.appendToken(data.content);
            break;
          case 'tool_start':
            answer.toolStart(data || {});
            break;
          case 'tool_end':
            answer.toolEnd(data || {}, false);
            break;
          case 'tool_error':
            answer.toolEnd(data || {}, true);
            break;
          case 'final': {
            outcome = 'final';
            if (answer.text === '' && data && typeof data.content === 'string') answer.setText(data.content);
            const meta = document.createDocumentFragment();
            if (data?.tool_used && Array.isArray(data.tools) && data.tools.length > 0) {
              meta.append(badge(`Tools used: ${data.tools.join(', ')}`, 'ok'));
            }
            const ms = typeof data?.elapsed_ms === 'number' ? data.elapsed_ms : performance.now() - startedAt;
            meta.append(badge(`${(ms / 1000).toFixed(1)} s`));
            answer.finish('done', meta);
            break;
          }
          case 'error':
            outcome = 'error';
            answer.addError(data?.error || 'The answer failed.');
            answer.finish('error');
            if (data?.code === 'MCP_AUTHORIZATION_REQUIRED') authorize(data.authorization_url);
            if (data?.recoverable === false) {
              state.connected = false;
              setStatus('error', 'Connection lost: reconnect');
            }
            break;
          default:
            console.warn('Unknown chat event', event);
        }
      });
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        parser.push(value);
      }
      parser.end();
      if (!outcome) {
        answer.addError('The answer stream ended unexpectedly.');
        answer.finish('error');
      }
    } catch (error) {
      if (controller.signal.aborted) {
        answer.finish('stopped', badge('Stopped', 'stopped'));
      } else {
        answer.addError(error instanceof Error ? error.message : String(error));
        answer.finish('error');
      }
    } finally {
      state.turn = null;
      setBusy(false);
      ui.input.focus();
    }
  }

  // ----- wiring ----------------------------------------------------------------------------------
  function autoGrow() {
    ui.input.style.height = 'auto';
    ui.input.style.height = `${Math.min(ui.input.scrollHeight, 200)}px`;
  }

  function submit() {
    const message = ui.input.value;
    if (state.turn || message.trim() === '') return;
    ui.input.value = '';
    autoGrow();
    send(message);
  }

  ui.composer.addEventListener('submit', (event) => {
    event.preventDefault();
    submit();
  });
  ui.input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    }
  });
  ui.input.addEventListener('input', autoGrow);
  ui.stopButton.addEventListener('click', stopTurn);
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && state.turn) stopTurn();
  });
  ui.connectButton.addEventListener('click', () => {
    if (state.connected) disconnect();
    else connect().catch((error) => showSystemError(`Could not connect: ${error.message}`));
  });
  ui.modelSelect.addEventListener('change', () => {
    sessionStorage.setItem(MODEL_KEY, ui.modelSelect.value);
    updateNotice();
    state.connected = false;
    connect().catch((error) => showSystemError(`Could not connect: ${error.message}`));
  });
  ui.noticeClose.addEventListener('click', () => {
    sessionStorage.setItem(NOTICE_KEY, '1');
    ui.notice.hidden = true;
  });
  for (const chip of document.querySelectorAll('.chip[data-prompt]')) {
    chip.addEventListener('click', () => {
      if (!state.turn) send(chip.dataset.prompt);
    });
  }

  // Hooks for the browser test (and curious developers).
  window.mcpLlmchatDemo = { renderMarkdown, createSseParser, state };

  // Back from an MCP server's authorization page: tidy the address bar; connecting follows.
  const returned = new URLSearchParams(window.location.search);
  if (returned.has('oauth')) {
    window.history.replaceState(null, '', window.location.pathname);
    if (returned.get('oauth') === 'error') {
      showSystemError(`The authorization did not complete (${returned.get('code') || 'error'}). Connect to try again.`);
    }
  }

  loadModels()
    .then(() => connect())
    .catch((error) => {
      setStatus('error', 'Not connected');
      showSystemError(error.message);
    });
  ui.input.focus();
})();
