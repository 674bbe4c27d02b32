/**
 * The bench's HTTP client: raw `node:http` (cheaper and steadier than `fetch`, so the client
 * adds little noise), keep-alive, no socket limit. It reads a streamed answer and notes when the
 * first token frame arrived and when the stream ended.
 */
import { Agent, type ClientRequest, request } from 'node:http';

/** One shared agent: keep-alive, unlimited sockets (1,000 concurrent streams need 1,000). */
export const benchAgent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });

/** How to recognize the frames of one server's stream format. */
export interface StreamFormat {
  /** Text that appears in a frame carrying a token, and in no earlier frame. */
  token: string;
  /** Text that appears once the answer is complete. */
  end: string;
}

/** The stream formats of the servers under comparison. */
export const FORMATS = {
  /** mcp-llmchat's SSE (`event: token`, …, `event: final`). */
  lib: { token: 'event: token', end: 'event: final' },
  /** The provider's Chat Completions stream, piped as it is. */
  floor: { token: '"delta":{"content":"', end: 'data: [DONE]' },
  /** The AI SDK's UI message stream. */
  aisdk: { token: '"type":"text-delta"', end: '"type":"finish"' },
} satisfies Record<string, StreamFormat>;

/** What one streamed request measured. */
export interface StreamTiming {
  /** Milliseconds from sending the request to the first token frame (NaN if none). */
  firstMs: number;
  /** Milliseconds from sending the request to the end of the response. */
  totalMs: number;
  bytes: number;
  /** The end marker was seen: the answer is complete. */
  complete: boolean;
  status: number;
  /** The whole body, only with `keepBody`. */
  body?: string;
}

/** Options of {@link postStream}. */
export interface PostStreamOptions {
  headers?: Record<string, string>;
  /** Keep the whole body (small answers only). */
  keepBody?: boolean;
  /** Destroy the request after this many milliseconds from the first token (an aborted stream). */
  abortAfterFirstMs?: number;
  signal?: AbortSignal;
}

/**
 * A request whose kept-alive socket the server had just closed for idleness is sent once more,
 * on a connection of its own (not kept alive, so it cannot be handed another stale socket).
 * Node's client retires an idle socket a second before the server's `Keep-Alive: timeout`, but a
 * client busy starting hundreds of requests runs that timer late and sends on a socket the server
 * has closed. The sign: a reused socket, `ECONNRESET`, no answer, and no abort of our own. A
 * server that read a request and then dropped the connection looks the same, so every such retry
 * is counted ({@link idleSocketRetries}) and the bench scripts print the count at their end.
 */
let retries = 0;

/** How many requests were sent again after their kept-alive socket was found closed. */
export function idleSocketRetries(): number {
  return retries;
}

/** A sentence for a bench's output naming the requests sent again, or `undefined` when none were. */
export function idleSocketRetriesNote(): string | undefined {
  if (retries === 0) return undefined;
  return `The client sent ${retries} request(s) again: each had gone out on a kept-alive socket that was reset before any answer.`;
}

/** Prints {@link idleSocketRetriesNote} at the end of a bench's output, when there is one. */
export function printIdleSocketRetries(): void {
  const note = idleSocketRetriesNote();
  if (note) console.log(`\n${note}`);
}

/** The failures of requests that lost an idle socket, marked where the request saw it. */
const idleSocketLosses = new WeakSet<object>();

/**
 * `error`, marked as the loss of an idle socket when it is one: a reused socket reset before any
 * answer came, on a request the caller did not cancel.
 */
function markIdleSocketLoss(
  req: ClientRequest,
  error: NodeJS.ErrnoException,
  state: { answered: boolean; cancelled?: boolean },
): NodeJS.ErrnoException {
  if (req.reusedSocket && !state.answered && state.cancelled !== true && error.code === 'ECONNRESET') {
    idleSocketLosses.add(error);
  }
  return error;
}

/**
 * Runs `send` on the shared agent and, when it lost an idle socket, once more (counted) on a
 * connection of its own: that one is new, so it cannot lose an idle socket again.
 */
async function withIdleSocketRetry<T>(send: (agent: Agent | false) => Promise<T>): Promise<T> {
  try {
    return await send(benchAgent);
  } catch (error) {
    if (typeof error !== 'object' || error === null || !idleSocketLosses.has(error)) throw error;
    retries++;
    return send(false);
  }
}

/** POSTs `body` as JSON to `url` and reads the streamed answer. */
export function postStream(
  url: string,
  body: unknown,
  format: StreamFormat,
  options: PostStreamOptions = {},
): Promise<StreamTiming> {
  return withIdleSocketRetry((agent) => sendStream(url, body, format, options, agent));
}

function sendStream(
  url: string,
  body: unknown,
  format: StreamFormat,
  options: PostStreamOptions,
  agent: Agent | false,
): Promise<StreamTiming> {
  const payload = JSON.stringify(body);
  return new Promise<StreamTiming>((resolve, reject) => {
    const started = performance.now();
    let firstMs = Number.NaN;
    let carry = '';
    let endCarry = '';
    let ended = false;
    let bytes = 0;
    const state = { answered: false, cancelled: false };
    const parts: string[] = [];
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
          ...options.headers,
        },
      },
      (res) => {
        state.answered = true;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          bytes += chunk.length;
          if (options.keepBody) parts.push(chunk);
          if (Number.isNaN(firstMs)) {
            const hay = carry + chunk;
            if (hay.includes(format.token)) {
              firstMs = performance.now() - started;
              if (options.abortAfterFirstMs !== undefined) {
                setTimeout(() => req.destroy(), options.abortAfterFirstMs);
              }
            } else {
              carry = hay.slice(-format.token.length);
            }
          }
          if (!ended) {
            const hay = endCarry + chunk;
            if (hay.includes(format.end)) ended = true;
            else endCarry = hay.slice(-format.end.length);
          }
        });
        const finish = () => {
          const timing: StreamTiming = {
            firstMs,
            totalMs: performance.now() - started,
            bytes,
            complete: ended,
            status: res.statusCode ?? 0,
          };
          if (options.keepBody) timing.body = parts.join('');
          resolve(timing);
        };
        res.on('end', finish);
        res.on('aborted', finish);
        res.on('error', finish);
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (idleSocketLosses.has(markIdleSocketLoss(req, error, state))) {
        reject(error);
      } else if (options.abortAfterFirstMs !== undefined && !Number.isNaN(firstMs)) {
        resolve({ firstMs, totalMs: performance.now() - started, bytes, complete: false, status: 0 });
      } else reject(error);
    });
    const cancel = () => {
      state.cancelled = true;
      req.destroy();
    };
    if (options.signal?.aborted) cancel();
    else options.signal?.addEventListener('abort', cancel, { once: true });
    req.on('close', () => options.signal?.removeEventListener('abort', cancel));
    req.end(payload);
  });
}

/** POSTs `body` as JSON and returns the status and parsed JSON answer. */
export function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: unknown }> {
  return withIdleSocketRetry((agent) => sendJson(url, body, headers, agent));
}

function sendJson(
  url: string,
  body: unknown,
  headers: Record<string, string>,
  agent: Agent | false,
): Promise<{ status: number; json: unknown }> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const state = { answered: false };
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...headers },
      },
      (res) => {
        state.answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown = text;
          try {
            json = JSON.parse(text);
          } catch {
            // not JSON: keep the text
          }
          resolve({ status: res.statusCode ?? 0, json });
        });
        res.on('error', reject);
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => {
      reject(markIdleSocketLoss(req, error, state));
    });
    req.end(payload);
  });
}

/** Sends a DELETE and resolves with its status once the answer was read. */
export function deleteRequest(url: string, headers: Record<string, string> = {}): Promise<number> {
  return withIdleSocketRetry((agent) => sendDelete(url, headers, agent));
}

function sendDelete(url: string, headers: Record<string, string>, agent: Agent | false): Promise<number> {
  return new Promise((resolve, reject) => {
    const state = { answered: false };
    const req = request(url, { method: 'DELETE', agent, headers }, (res) => {
      state.answered = true;
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      reject(markIdleSocketLoss(req, error, state));
    });
    req.end();
  });
}

/** The `Authorization` header of a bench user (the stack's `bearerUser` scheme). */
export function userHeaders(userId: string): Record<string, string> {
  return { authorization: `Bearer user:${userId}` };
}
