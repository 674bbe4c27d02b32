// The mcp-llmchat demo page: plain JavaScript modules, no build step, no third-party code.
// Model text only ever reaches the page through textContent and createElement (js/markdown.js),
// never through innerHTML, so a model or a tool cannot inject markup or scripts.
//
//   js/chat-stream.js    reading a turn's SSE stream and resuming it (the part to copy)
//   js/sse-parser.js     the SSE wire format
//   js/api.js            the /llmchat routes
//   js/messages.js       drawing messages, answers and tool cards
//   js/conversations.js  the conversation list
//   js/asks.js           approval and elicitation cards (POST /approve, POST /elicitation)
//   js/markdown.js       safe Markdown

import { createApi, demoUserId } from './js/api.js';
import { createAskCards } from './js/asks.js';
import { followTurn } from './js/chat-stream.js';
import { createConversationList } from './js/conversations.js';
import { el } from './js/dom.js';
import { renderMarkdown } from './js/markdown.js';
import { badge, createMessageList } from './js/messages.js';
import { createSseParser } from './js/sse-parser.js';

const SCRIPTED_MODEL_ID = 'demo-scripted';
const MODEL_KEY = 'mcp-llmchat-demo-model';
const NOTICE_KEY = 'mcp-llmchat-demo-notice-hidden';
// The answer this tab is streaming, kept across a reload: { conversationId, message }.
// The tool list of the last connect, shown again after a reload that keeps the session.
const TOOLS_KEY = 'mcp-llmchat-demo-tools';
const PENDING_KEY = 'mcp-llmchat-demo-pending';

const $ = (id) => document.getElementById(id);
const ui = {
  modelSelect: $('model-select'),
  status: $('status'),
  statusText: $('status-text'),
  statusExtra: $('status-extra'),
  connectButton: $('connect-button'),
  notice: $('notice'),
  noticeClose: $('notice-close'),
  sidebar: $('sidebar'),
  sidebarToggle: $('sidebar-toggle'),
  newChat: $('new-chat'),
  conversationList: $('conversation-list'),
  chat: $('chat'),
  empty: $('empty'),
  toolsLine: $('tools-line'),
  messages: $('messages'),
  composer: $('composer'),
  input: $('input'),
  sendButton: $('send-button'),
  stopButton: $('stop-button'),
};

const userId = demoUserId();
const api = createApi(userId);
const view = createMessageList(ui);
const tabs = typeof BroadcastChannel === 'function' ? new BroadcastChannel(`mcp-llmchat-demo:${userId}`) : null;

const state = {
  userId,
  mcpServerUrl: null,
  models: [],
  connected: false,
  connecting: null,
  conversationId: null,
  conversations: [],
  hasConversations: true, // false against a server without the conversation routes
  turn: null, // { controller, conversationId } while an answer streams or is followed
};

const conversationList = createConversationList({
  list: ui.conversationList,
  onSelect: (id) => {
    closeSidebar();
    selectConversation(id);
  },
  onDelete: (id) => deleteConversation(id),
});

// ----- connection ------------------------------------------------------------------------------
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
  const body = await api.json('/gateway/models');
  state.models = Array.isArray(body.models) ? body.models : [];
  ui.modelSelect.replaceChildren();
  for (const model of state.models) {
    const label = `${model.model_name || model.model_id} · ${model.provider_name || model.provider_type}`;
    const option = el('option', '', label);
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

function showConnected(tools) {
  state.connected = true;
  const count = tools.length;
  setStatus('connected', 'Connected', ` · ${count} tool${count === 1 ? '' : 's'}`);
  ui.status.title = tools.join(', ');
  showTools(tools);
}

/**
 * After a reload: keep the session this user already has (same model) instead of connecting
 * again. A new /connect would replace the session, and an answer still running would then not
 * be saved (a turn never writes into a session that replaced the one it started in).
 */
async function keepSession() {
  try {
    const status = await api.json(`/status/${encodeURIComponent(userId)}`);
    if (!status.connected) return false;
    const config = await api.json(`/config/${encodeURIComponent(userId)}`);
    const model = config?.llm?.config?.model;
    if (!state.models.some((m) => m.model_id === model)) return false;
    ui.modelSelect.value = model;
    updateNotice();
    let tools = [];
    try {
      tools = JSON.parse(sessionStorage.getItem(TOOLS_KEY) || '[]');
    } catch {
      // No list kept: the status line just says Connected.
    }
    showConnected(Array.isArray(tools) ? tools : []);
    return true;
  } catch {
    return false;
  }
}

function connect() {
  if (state.connecting) return state.connecting;
  const model = selectedModel();
  if (!model) return Promise.reject(new Error('Pick a model first.'));
  setStatus('connecting', 'Connecting…');
  const body = { llm: { model: model.model_id }, streaming: true };
  if (state.mcpServerUrl) body.server = { url: state.mcpServerUrl, transport: 'streamable_http' };
  state.connecting = api
    .post('/connect', body)
    .then((result) => {
      const tools = Array.isArray(result.tools) ? result.tools : [];
      sessionStorage.setItem(TOOLS_KEY, JSON.stringify(tools));
      showConnected(tools);
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
  let target;
  try {
    target = new URL(url);
  } catch {
    return;
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') return;
  setStatus('connecting', 'Authorizing…');
  window.location.assign(target.href);
}

function showTools(tools) {
  ui.toolsLine.replaceChildren();
  ui.toolsLine.hidden = tools.length === 0;
  if (tools.length === 0) return;
  ui.toolsLine.append(document.createTextNode('Tools available: '));
  tools.forEach((name, index) => {
    if (index > 0) ui.toolsLine.append(document.createTextNode(' '));
    ui.toolsLine.append(el('code', '', name));
  });
}

async function disconnect() {
  await stopTurn();
  try {
    await api.post('/disconnect', {});
  } catch {
    // The local state is cleared either way.
  }
  state.connected = false;
  setStatus('disconnected', 'Disconnected');
}

// ----- conversations ---------------------------------------------------------------------------
// The wire contract's form of a conversation id.
const CONVERSATION_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The conversation an address names (`#c=…`): undefined when it names none, null when what it
 * names is not a conversation id (or not even valid percent-encoding, like `%E0%A4%A`).
 */
function conversationInHash(hash) {
  const encoded = /^#c=(.+)$/.exec(hash)?.[1];
  if (encoded === undefined) return undefined;
  try {
    const id = decodeURIComponent(encoded);
    return CONVERSATION_ID.test(id) ? id : null;
  } catch {
    return null;
  }
}

function newConversationId() {
  const random = Array.from(crypto.getRandomValues(new Uint8Array(6)), (b) => b.toString(16).padStart(2, '0')).join('');
  return `c-${Date.now().toString(36)}-${random}`;
}

async function loadConversations() {
  if (!state.hasConversations) return;
  try {
    const body = await api.conversations();
    state.conversations = Array.isArray(body.conversations) ? body.conversations : [];
  } catch (error) {
    if (error.status === 404 && error.code === 'NOT_FOUND') {
      // An older server: one conversation, no list.
      state.hasConversations = false;
      ui.sidebar.hidden = true;
      ui.sidebarToggle.hidden = true;
      return;
    }
    throw error;
  }
  conversationList.render(state.conversations, state.conversationId);
}

async function selectConversation(id) {
  if (state.turn && state.turn.conversationId !== id) detachTurn();
  state.conversationId = id;
  history.replaceState(null, '', `#c=${encodeURIComponent(id)}`);
  conversationList.render(state.conversations, id);
  view.clear();
  if (!state.hasConversations) return;
  let saved = { messages: [] };
  try {
    saved = await api.history(id);
  } catch (error) {
    if (error.status !== 404) view.showSystemError(`Could not load this conversation: ${error.message}`);
  }
  if (state.conversationId !== id) return; // switched again meanwhile
  const messages = Array.isArray(saved?.messages) ? saved.messages : [];
  view.drawHistory(messages);
  const running = state.conversations.find((c) => c.conversation_id === id)?.running;
  const pending = readPending();
  // This tab sent a message here before a reload and its turn is not in the history yet: it is
  // still running (a new conversation is listed only once its first turn is saved).
  const mine = pending?.conversationId === id && !endsWithQuestion(messages, pending.message);
  if ((running || mine) && !state.turn) {
    // An answer is still being written (by this tab before a reload, or by another tab):
    // follow it from its first event.
    followConversation(id, pending?.conversationId === id ? pending.message : null);
  }
}

function endsWithQuestion(messages, question) {
  return messages.findLast((m) => m.role === 'user')?.content === question;
}

function newConversation() {
  closeSidebar();
  selectConversation(newConversationId());
  ui.input.focus();
}

async function deleteConversation(id) {
  try {
    if (state.turn?.conversationId === id) await stopTurn();
    await api.deleteConversation(id);
  } catch (error) {
    view.showSystemError(`Could not delete: ${error.message}`);
    return;
  }
  state.conversations = state.conversations.filter((c) => c.conversation_id !== id);
  tabs?.postMessage({ type: 'changed' });
  if (id === state.conversationId) {
    const next = state.conversations[0]?.conversation_id ?? newConversationId();
    await selectConversation(next);
  } else {
    conversationList.render(state.conversations, state.conversationId);
  }
}

function openSidebar() {
  ui.sidebar.dataset.open = 'true';
  ui.sidebarToggle.setAttribute('aria-expanded', 'true');
}

function closeSidebar() {
  delete ui.sidebar.dataset.open;
  ui.sidebarToggle.setAttribute('aria-expanded', 'false');
}

// ----- a turn ----------------------------------------------------------------------------------
function setBusy(busy) {
  ui.sendButton.hidden = busy;
  ui.stopButton.hidden = !busy;
  ui.modelSelect.disabled = busy || state.models.length === 0;
}

function readPending() {
  try {
    return JSON.parse(sessionStorage.getItem(PENDING_KEY) || 'null');
  } catch {
    return null;
  }
}

/** Stops the running answer on the server, wherever it runs; every tab following it ends. */
async function stopTurn() {
  const turn = state.turn;
  if (!turn) return;
  try {
    await api.stop(turn.conversationId);
  } catch {
    // A server without POST /stop: closing the stream stops the turn there.
    turn.controller.abort();
  }
}

/** Stops following (switching conversations): the answer goes on and is saved on the server. */
function detachTurn() {
  state.turn?.controller.abort(DETACHED);
}

// The abort reason of a follow that was left (the answer goes on), as opposed to stopped.
const DETACHED = 'detached';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function postChat(message, conversationId, idempotencyKey, signal) {
  let reconnected = false;
  for (let attempt = 0; ; attempt++) {
    try {
      return await api.sendChat({ message, conversationId, idempotencyKey, signal });
    } catch (error) {
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
}

function send(message) {
  if (state.turn || message.trim() === '') return;
  const conversationId = state.conversationId;
  const idempotencyKey = crypto.randomUUID();
  view.addUserMessage(message);
  sessionStorage.setItem(PENDING_KEY, JSON.stringify({ conversationId, message }));
  tabs?.postMessage({ type: 'turn', conversationId, message });
  runTurn(conversationId, async (signal) => {
    if (!state.connected) await connect();
    return postChat(message, conversationId, idempotencyKey, signal);
  });
}

/** Follows a turn someone already started in this conversation (a reload, another tab). */
function followConversation(conversationId, message) {
  if (message) view.addUserMessage(message);
  runTurn(conversationId, (signal) => api.attach({ conversationId, lastEventId: null, signal }));
}

async function runTurn(conversationId, open) {
  const controller = new AbortController();
  state.turn = { controller, conversationId };
  setBusy(true);
  const answer = view.addAssistantMessage();
  const asks = createAskCards({ api, conversationId });
  const startedAt = performance.now();
  const { signal } = controller;
  const onEvent = ({ event, data }) => {
    switch (event) {
      case 'token':
        if (data && typeof data.content === 'string') answer.appendToken(data.content);
        break;
      case 'tool_start':
        answer.toolStart(data || {});
        break;
      case 'tool_end':
        answer.toolEnd(data || {}, false);
        asks.settle(data || {});
        break;
      case 'tool_error':
        answer.toolEnd(data || {}, true);
        asks.settle(data || {});
        break;
      case 'tool_approval':
        answer.addAsk(asks.approval(data || {}));
        break;
      case 'elicitation':
        answer.addAsk(asks.elicitation(data || {}));
        break;
      case 'final':
      case 'error':
        break; // handled once followTurn resolves
      default:
        // Events this page does not draw (newer servers may add some) are ignored.
        break;
    }
  };
  try {
    const result = await followTurn({
      open: () => open(signal),
      resume: (lastEventId) => api.attach({ conversationId, lastEventId, signal }),
      onEvent,
      signal,
    });
    if (result.outcome === 'final') {
      const data = result.data || {};
      if (answer.text === '' && typeof data.content === 'string') answer.setText(data.content);
      const meta = document.createDocumentFragment();
      if (data.tool_used && Array.isArray(data.tools) && data.tools.length > 0) {
        meta.append(badge(`Tools used: ${data.tools.join(', ')}`, 'ok'));
      }
      if (data.stopped) meta.append(badge('Stopped', 'stopped'));
      const ms = typeof data.elapsed_ms === 'number' ? data.elapsed_ms : performance.now() - startedAt;
      meta.append(badge(`${(ms / 1000).toFixed(1)} s`));
      answer.finish(data.stopped ? 'stopped' : 'done', meta);
    } else if (result.outcome === 'error') {
      answer.addError(result.data?.error || 'The answer failed.');
      answer.finish('error');
      if (result.data?.recoverable === false) {
        state.connected = false;
        setStatus('error', 'Connection lost: reconnect');
      }
    } else if (result.outcome === 'lost') {
      // The events are gone but the turn was saved: redraw from the history.
      state.turn = null;
      await selectConversation(conversationId);
      return;
    } else {
      answer.addError('The answer is no longer available.');
      answer.finish('error');
    }
  } catch (error) {
    if (signal.aborted) answer.finish('stopped', badge(signal.reason === DETACHED ? 'Left' : 'Stopped', 'stopped'));
    else {
      answer.addError(error instanceof Error ? error.message : String(error));
      answer.finish('error');
    }
  } finally {
    asks.closeAll();
    if (state.turn?.controller === controller) {
      state.turn = null;
      setBusy(false);
      // A left answer goes on: its question is kept, to be shown when the user comes back to it.
      if (signal.reason !== DETACHED && readPending()?.conversationId === conversationId) {
        sessionStorage.removeItem(PENDING_KEY);
      }
    }
    loadConversations().catch(() => {});
    tabs?.postMessage({ type: 'changed' });
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
ui.stopButton.addEventListener('click', () => stopTurn());
document.addEventListener('keydown', (event) => {
  if (event.key !== 'Escape') return;
  if (ui.sidebar.dataset.open) closeSidebar();
  else if (state.turn) stopTurn();
});
// On narrow screens the list is a drawer over the chat: a tap outside it closes it.
document.addEventListener('click', (event) => {
  if (!ui.sidebar.dataset.open) return;
  if (ui.sidebar.contains(event.target) || ui.sidebarToggle.contains(event.target)) return;
  closeSidebar();
});
ui.connectButton.addEventListener('click', () => {
  if (state.connected) disconnect();
  else connect().catch((error) => view.showSystemError(`Could not connect: ${error.message}`));
});
ui.modelSelect.addEventListener('change', () => {
  sessionStorage.setItem(MODEL_KEY, ui.modelSelect.value);
  updateNotice();
  state.connected = false;
  connect().catch((error) => view.showSystemError(`Could not connect: ${error.message}`));
});
ui.noticeClose.addEventListener('click', () => {
  sessionStorage.setItem(NOTICE_KEY, '1');
  ui.notice.hidden = true;
});
ui.newChat.addEventListener('click', newConversation);
ui.sidebarToggle.addEventListener('click', () => {
  if (ui.sidebar.dataset.open) closeSidebar();
  else openSidebar();
});
for (const chip of document.querySelectorAll('.chip[data-prompt]')) {
  chip.addEventListener('click', () => {
    if (!state.turn) send(chip.dataset.prompt);
  });
}
tabs?.addEventListener('message', ({ data }) => {
  if (data?.type === 'turn' && data.conversationId === state.conversationId && !state.turn) {
    // Give the other tab's request a moment to reach the server before following it.
    setTimeout(() => followConversation(data.conversationId, data.message), 150);
  } else if (data?.type === 'changed' || data?.type === 'turn') {
    loadConversations().catch(() => {});
  }
});

// Hooks for the browser test (and curious developers).
window.mcpLlmchatDemo = { renderMarkdown, createSseParser, state };

async function start() {
  // Back from an MCP server's authorization page: tidy the address bar; connecting follows.
  const returned = new URLSearchParams(window.location.search);
  if (returned.has('oauth')) {
    window.history.replaceState(null, '', window.location.pathname + window.location.hash);
    if (returned.get('oauth') === 'error') {
      view.showSystemError(
        `The authorization did not complete (${returned.get('code') || 'error'}). Connect to try again.`,
      );
    }
  }
  await loadModels();
  if (!(await keepSession())) await connect();
  await loadConversations();
  const fromHash = conversationInHash(location.hash);
  const pending = readPending();
  // A broken `#c=` starts a new conversation.
  const initial =
    fromHash === null
      ? newConversationId()
      : fromHash || pending?.conversationId || state.conversations[0]?.conversation_id || newConversationId();
  await selectConversation(initial);
}

start().catch((error) => {
  setStatus('error', 'Not connected');
  view.showSystemError(error.message);
});
ui.input.focus();
