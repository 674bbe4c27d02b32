// Cards for what a turn asks its user (CONTRACT §7): a tool call waiting for approval
// (`tool_approval` → POST /approve) and an MCP server's question (`elicitation` → POST /elicitation).
// Everything the server or the MCP server sent reaches the page through textContent and DOM nodes,
// never innerHTML: a hostile server's form cannot inject markup.

import { el, link, safeHref } from './dom.js';

/**
 * The ask cards of one turn. `api` is the page's API (its `post` adds the user id), and
 * `conversationId` the conversation the turn runs in.
 *
 *   approval(event)     the card of a `tool_approval` event (the same node again for a repeated id)
 *   elicitation(event)  the card of an `elicitation` event
 *   settle(event)       a `tool_end` / `tool_error` came: the questions of that call are over
 *   closeAll()          the turn ended: nothing is waiting any more
 */
export function createAskCards({ api, conversationId }) {
  const cards = new Map();

  function card(kind, id, build) {
    const key = `${kind}:${id}`;
    const existing = cards.get(key);
    if (existing) return existing;
    const made = build();
    cards.set(key, made);
    return made;
  }

  return {
    approval(event) {
      return card('approval', event.id, () => approvalCard(event, api, conversationId)).root;
    },
    elicitation(event) {
      return card('elicitation', event.id, () => elicitationCard(event, api)).root;
    },
    settle(event) {
      // The user may have answered in another tab: the tool's end says the question is over.
      cards.get(`approval:${event.id}`)?.close(event.type === 'tool_error' ? 'Not run' : 'Approved');
      for (const [key, open] of cards) if (key.startsWith('elicitation:')) open.close('Answered');
    },
    closeAll() {
      for (const open of cards.values()) open.close('No longer waiting');
    },
  };
}

/** A card's frame: title, body, status line and a row of buttons, with the state machine. */
function askFrame(kind, title) {
  const root = el('div', `ask-card ${kind}`);
  root.dataset.state = 'pending';
  root.setAttribute('role', 'group');
  root.setAttribute('aria-label', title);
  const body = el('div', 'ask-body');
  const status = el('div', 'ask-status');
  status.setAttribute('role', 'status');
  const actions = el('div', 'ask-actions');
  root.append(el('div', 'ask-title', title), body, status, actions);
  const buttons = [];
  const frame = {
    root,
    body,
    status,
    button(label, className, onClick) {
      const button = el('button', `ask-button ${className}`, label);
      button.type = 'button';
      button.addEventListener('click', onClick);
      buttons.push(button);
      actions.append(button);
      return button;
    },
    busy(on) {
      for (const button of buttons) button.disabled = on;
    },
    /** Final state: `answered` (with the answer's name) or `closed` (nothing to answer any more). */
    end(state, text) {
      root.dataset.state = state;
      status.textContent = text;
      status.classList.remove('error');
      frame.busy(true);
      actions.hidden = true;
    },
    error(text) {
      status.textContent = text;
      status.classList.add('error');
    },
    close(text) {
      if (root.dataset.state === 'pending') frame.end('closed', text);
    },
  };
  return frame;
}

/** Sends an answer; 404 means the question is gone (answered elsewhere, expired or stopped). */
async function answer(frame, send, done) {
  frame.busy(true);
  try {
    const result = await send();
    done(result);
  } catch (error) {
    if (error.status === 404) frame.end('closed', 'This question is no longer waiting.');
    else {
      frame.error(error.message || 'The answer was not accepted.');
      frame.busy(false);
    }
  }
}

function untilText(expiresAt) {
  const when = Date.parse(expiresAt);
  return Number.isFinite(when) ? `Waiting for you until ${new Date(when).toLocaleTimeString()}.` : 'Waiting for you.';
}

function formatInput(value) {
  try {
    return JSON.stringify(value ?? {}, null, 2);
  } catch {
    return String(value);
  }
}

function approvalCard(event, api, conversationId) {
  const tool = String(event.tool || 'a tool');
  const frame = askFrame('approval', `Allow ${tool}?`);
  frame.root.dataset.callId = String(event.id || '');
  frame.root.dataset.tool = tool;
  const hints = event.annotations || {};
  if (hints.destructiveHint === true) {
    frame.body.append(el('p', 'ask-warning', 'Its server says this tool can delete or overwrite data.'));
  }
  frame.body.append(el('pre', 'ask-input', formatInput(event.input)));
  frame.status.textContent = untilText(event.expires_at);

  const decide = (decision, scope) =>
    answer(
      frame,
      () =>
        api.post('/approve', {
          conversation_id: conversationId,
          call_id: event.id,
          decision,
          ...(scope ? { scope } : {}),
        }),
      () => {
        const text =
          decision === 'deny' ? 'Denied' : scope === 'conversation' ? 'Allowed for this conversation' : 'Approved';
        frame.end('answered', text);
        frame.root.dataset.answer = decision === 'deny' ? 'deny' : scope === 'conversation' ? 'always' : 'approve';
      },
    );
  frame.button('Approve', 'primary approve', () => decide('approve'));
  frame.button('Allow for this conversation', 'always', () => decide('approve', 'conversation'));
  frame.button('Deny', 'danger deny', () => decide('deny'));
  return frame;
}

function elicitationCard(event, api) {
  const frame = askFrame('elicitation', event.mode === 'url' ? 'A tool asks you to open a page' : 'A tool asks you');
  frame.root.dataset.id = String(event.id || '');
  if (event.server) frame.body.append(el('p', 'ask-from', `From the MCP server “${event.server}”:`));
  frame.body.append(el('p', 'ask-message', String(event.message || '')));
  frame.status.textContent = untilText(event.expires_at);

  let collect = () => undefined;
  if (event.mode === 'url') {
    const href = safeHref(String(event.url || ''));
    if (href) {
      const line = el('p', 'ask-url');
      line.append(link(href, href));
      frame.body.append(line);
    } else frame.body.append(el('p', 'ask-warning', 'The server sent a link that is not http(s); it is not shown.'));
  } else {
    const form = buildForm(event.requested_schema);
    form.root.addEventListener('submit', (submitted) => {
      submitted.preventDefault();
      send('accept');
    });
    frame.body.append(form.root);
    collect = form.collect;
    frame.markInvalid = form.markInvalid;
  }

  const send = (action) =>
    answer(
      frame,
      () => api.post('/elicitation', { id: event.id, action, ...(action === 'accept' ? collectOrNothing() : {}) }),
      () => {
        frame.end('answered', { accept: 'Sent', decline: 'Declined', cancel: 'Cancelled' }[action]);
        frame.root.dataset.answer = action;
      },
    ).then(() => {
      // A 422 names the field (`content.<name>: …`): point at it.
      const field = /^content\.([^:]+):/.exec(frame.status.textContent || '')?.[1];
      if (field && frame.root.dataset.state === 'pending') frame.markInvalid?.(field);
    });
  const collectOrNothing = () => {
    const content = collect();
    return content && Object.keys(content).length > 0 ? { content } : {};
  };
  frame.button('Accept', 'primary accept', () => send('accept'));
  frame.button('Decline', 'decline', () => send('decline'));
  frame.button('Cancel', 'cancel', () => send('cancel'));
  return frame;
}

/**
 * A form for a requested schema (flat object of string, number, integer, boolean and enum
 * fields). Fields left empty are left out, so the server's defaults apply; the server checks what
 * is sent (the form has no browser validation of its own, so the server's 422 is shown).
 */
function buildForm(schema) {
  const root = el('form', 'ask-form');
  root.noValidate = true;
  const properties = schema && typeof schema.properties === 'object' && schema.properties ? schema.properties : {};
  const required = new Set(Array.isArray(schema?.required) ? schema.required : []);
  const readers = [];
  const inputs = new Map();

  for (const [name, field] of Object.entries(properties)) {
    if (!field || typeof field !== 'object') continue;
    const id = `ask-${Math.random().toString(36).slice(2)}-${name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
    const row = el('div', 'ask-field');
    const label = el('label', '', `${field.title || name}${required.has(name) ? ' *' : ''}`);
    label.htmlFor = id;
    let input;
    let read;
    if (Array.isArray(field.enum)) {
      input = el('select');
      if (!required.has(name) && field.default === undefined) input.append(option('', '—'));
      field.enum.forEach((value, index) => {
        const names = Array.isArray(field.enumNames) ? field.enumNames : [];
        input.append(option(String(value), String(names[index] ?? value)));
      });
      if (field.default !== undefined) input.value = String(field.default);
      read = () => {
        if (input.value === '') return undefined;
        const chosen = field.enum.find((value) => String(value) === input.value);
        return chosen;
      };
    } else if (field.type === 'boolean') {
      input = el('input');
      input.type = 'checkbox';
      input.checked = field.default === true;
      read = () => input.checked;
    } else if (field.type === 'number' || field.type === 'integer') {
      input = el('input');
      input.type = 'number';
      if (typeof field.minimum === 'number') input.min = String(field.minimum);
      if (typeof field.maximum === 'number') input.max = String(field.maximum);
      input.step = field.type === 'integer' ? '1' : 'any';
      if (typeof field.default === 'number') input.value = String(field.default);
      read = () => (input.value.trim() === '' ? undefined : Number(input.value));
    } else {
      input = el('input');
      input.type = { email: 'email', uri: 'url', date: 'date', 'date-time': 'datetime-local' }[field.format] || 'text';
      if (typeof field.maxLength === 'number') input.maxLength = field.maxLength;
      if (typeof field.default === 'string') input.value = field.default;
      // A datetime-local input gives local time without seconds or offset; the form's
      // `date-time` is RFC 3339, so it is sent as the instant in UTC.
      const instant = field.format === 'date-time';
      read = () => (input.value === '' ? undefined : instant ? new Date(input.value).toISOString() : input.value);
    }
    input.id = id;
    input.name = name;
    row.append(label, input);
    if (field.description) row.append(el('div', 'ask-hint', String(field.description)));
    root.append(row);
    inputs.set(name, input);
    readers.push([name, read]);
  }
  return {
    root,
    collect() {
      const content = {};
      for (const [name, read] of readers) {
        const value = read();
        if (value !== undefined) content[name] = value;
      }
      return content;
    },
    markInvalid(name) {
      for (const input of inputs.values()) input.removeAttribute('aria-invalid');
      const input = inputs.get(name);
      if (!input) return;
      input.setAttribute('aria-invalid', 'true');
      input.focus();
    },
  };
}

function option(value, text) {
  const node = el('option', '', text);
  node.value = value;
  return node;
}
