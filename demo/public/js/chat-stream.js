// Reading a chat turn's SSE stream, and resuming it after a dropped connection. This is the part
// to copy into your own page: it needs only fetch and ./sse-parser.js.
//
//   POST {api}/chat                  starts a turn; the response is its first reader.
//   GET  {api}/chat/events/{user}    re-attaches: with `Last-Event-ID`, replays what came after
//                                    that id and follows the live turn; 204 when nothing is left.

import { createSseParser } from './sse-parser.js';

const TERMINAL = new Set(['final', 'error']);
const RETRY_DELAYS_MS = [250, 500, 1000, 2000, 4000, 8000];

/**
 * Reads an SSE response body to its end, calling `onEvent({ event, id, data })` for each event.
 * Resolves with the last terminal event (`final` or `error`), or null when the body ended
 * without one (a dropped connection).
 */
export async function readEvents(response, onEvent) {
  let terminal = null;
  const parser = createSseParser((message) => {
    if (terminal) return;
    if (TERMINAL.has(message.event)) terminal = message;
    onEvent(message);
  });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      parser.push(value);
    }
    parser.end();
  } finally {
    reader.releaseLock();
  }
  return terminal;
}

/**
 * Follows one turn to its `final` or `error`. `open()` makes the first request (a `POST /chat`
 * or a `GET /chat/events`); when the connection drops before the end, the turn is re-attached
 * with the last event id seen, so no event is lost or repeated.
 *
 * Resolves with `{ outcome: 'final' | 'error', data }`, `{ outcome: 'gone' }` when the server has
 * nothing to resume (204), or `{ outcome: 'lost' }` when the events were no longer kept
 * (`RESUME_LOST`: reload the history instead). Rejects with the HTTP error of a refused request.
 */
export async function followTurn({ open, resume, onEvent, signal, lastEventId = null }) {
  let lastId = lastEventId;
  for (let attempt = 0; ; attempt++) {
    try {
      // Before any event arrived, the send itself is repeated: its Idempotency-Key makes the
      // server attach to the turn it already started instead of starting a second one.
      const response = lastId === null ? await open() : await resume(lastId);
      if (response.status === 204) return { outcome: 'gone' };
      const terminal = await readEvents(response, (message) => {
        if (message.id) lastId = message.id;
        if (message.event === 'error' && message.data?.code === 'RESUME_LOST') return;
        onEvent(message);
      });
      if (terminal?.event === 'error' && terminal.data?.code === 'RESUME_LOST') return { outcome: 'lost' };
      if (terminal) return { outcome: terminal.event, data: terminal.data };
    } catch (error) {
      // An HTTP refusal is final; a network failure is worth another try.
      if (signal?.aborted || typeof error?.status === 'number') throw error;
    }
    if (signal?.aborted) throw signal.reason;
    if (attempt >= RETRY_DELAYS_MS.length * 2) return { outcome: 'gone' };
    await new Promise((resolve) => setTimeout(resolve, RETRY_DELAYS_MS[Math.min(attempt, RETRY_DELAYS_MS.length - 1)]));
  }
}
