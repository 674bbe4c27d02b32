// Talking to the /llmchat routes. The demo's server knows users by an `x-demo-user` header; a real
// app sends its own credentials instead (a session cookie, a bearer token).

export const API = '/llmchat';
const USER_KEY = 'mcp-llmchat-demo-user';

/**
 * A random demo user id per browser, shared by its tabs (so a second tab sees the same
 * conversations and can follow or stop a running answer).
 */
export function demoUserId() {
  let id = localStorage.getItem(USER_KEY);
  if (!id || !/^[A-Za-z0-9_-]{6,64}$/.test(id)) {
    const bytes = crypto.getRandomValues(new Uint8Array(12));
    id = `user-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
    localStorage.setItem(USER_KEY, id);
  }
  // The cookie is a fallback for clients that cannot set headers (the header wins on the server).
  // biome-ignore lint/suspicious/noDocumentCookie: one session cookie, no need for the Cookie Store API
  document.cookie = `demo_user=${id}; path=/; SameSite=Strict`;
  return id;
}

/** The error of a refused request, with the server's `detail` as message and its `code`. */
export async function httpError(response) {
  let detail = `${response.status} ${response.statusText}`.trim();
  let code = null;
  try {
    const body = await response.json();
    if (body && typeof body.detail === 'string') detail = body.detail;
    else if (body && Array.isArray(body.detail)) detail = body.detail.map((d) => d.msg || String(d)).join('; ');
    if (body && typeof body.code === 'string') code = body.code;
  } catch {
    // Not JSON: keep the status line.
  }
  const error = new Error(detail);
  error.code = code;
  error.status = response.status;
  return error;
}

/** The routes this page uses, for one user. */
export function createApi(userId) {
  const headers = (extra = {}) => ({ 'content-type': 'application/json', 'x-demo-user': userId, ...extra });
  const user = encodeURIComponent(userId);
  const query = (params) => {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(params))
      if (value !== undefined && value !== null) search.set(key, value);
    const text = search.toString();
    return text ? `?${text}` : '';
  };

  async function json(path, init = {}) {
    const response = await fetch(API + path, { ...init, headers: headers(init.headers) });
    if (!response.ok) throw await httpError(response);
    return response.json();
  }

  /** An SSE response, or the HTTP error of a refusal (204 passes: nothing to follow). */
  async function stream(path, init) {
    const response = await fetch(API + path, init);
    if (!response.ok) throw await httpError(response);
    return response;
  }

  return {
    userId,
    json,
    post: (path, body) => json(path, { method: 'POST', body: JSON.stringify({ user_id: userId, ...body }) }),
    /** Starts a turn (or, with the same key, attaches to the one this send already started). */
    sendChat: ({ message, conversationId, idempotencyKey, signal }) =>
      stream('/chat', {
        method: 'POST',
        headers: headers({ accept: 'text/event-stream', 'idempotency-key': idempotencyKey }),
        body: JSON.stringify({ user_id: userId, message, streaming: true, conversation_id: conversationId }),
        signal,
      }),
    /** Re-attaches to the conversation's turn after `lastEventId` (from its start when null). */
    attach: ({ conversationId, lastEventId, signal }) =>
      stream(`/chat/events/${user}${query({ conversation_id: conversationId })}`, {
        headers: headers(
          lastEventId ? { accept: 'text/event-stream', 'last-event-id': lastEventId } : { accept: 'text/event-stream' },
        ),
        signal,
      }),
    stop: (conversationId) =>
      json('/stop', { method: 'POST', body: JSON.stringify({ user_id: userId, conversation_id: conversationId }) }),
    conversations: (before) => json(`/conversations/${user}${query({ limit: 50, before })}`),
    history: (conversationId) => json(`/history/${user}${query({ conversation_id: conversationId, limit: 100 })}`),
    deleteConversation: (conversationId) =>
      json(`/history/${user}${query({ conversation_id: conversationId })}`, { method: 'DELETE' }),
  };
}
