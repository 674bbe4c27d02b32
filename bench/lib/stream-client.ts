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

/**
 * Whether a failed request lost an idle socket and goes out again (counted): its first attempt,
 * not cancelled by the caller, on a reused socket, reset before any answer came.
 */
function retryAfterIdleSocket(
  req: ClientRequest,
  error: NodeJS.ErrnoException,
  state: { firstTry: boolean; answered: boolean; cancelled?: boolean },
): boolean {
  if (!state.firstTry || state.answered || state.cancelled === true) return false;
  if (!req.reusedSocket || error.code !== 'ECONNRESET') return false;
  retries++;
  return true;
}

/** The shared agent for a first attempt; a connection of its own (no agent) for the retry. */
function agentFor(firstTry: boolean): Agent | false {
  return firstTry ? benchAgent : false;
}

/** POSTs `body` as JSON to `url` and reads the streamed answer. */
export function postStream(
  url: string,
  body: unknown,
  format: StreamFormat,
  options: PostStreamOptions = {},
): Promise<StreamTiming> {
  return sendStream(url, body, format, options, true);
}

function sendStream(
  url: string,
  body: unknown,
  format: StreamFormat,
  options: PostStreamOptions,
  firstTry: boolean,
): Promise<StreamTiming> {
  const payload = JSON.stringify(body);
  return new Promise<StreamTiming>((resolve, reject) => {
    const started = performance.now();
    let firstMs = Number.NaN;
    let carry = '';
    let endCarry = '';
    let ended = false;
    let bytes = 0;
    const state = { firstTry, answered: false, cancelled: false };
    const parts: string[] = [];
    const req = request(
      url,
      {
        method: 'POST',
        agent: agentFor(firstTry),
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
      if (retryAfterIdleSocket(req, error, state)) {
        sendStream(url, body, format, options, false).then(resolve, reject);
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
  return sendJson(url, body, headers, true);
}

function sendJson(
  url: string,
  body: unknown,
  headers: Record<string, string>,
  firstTry: boolean,
): Promise<{ status: number; json: unknown }> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const state = { firstTry, answered: false };
    const req = request(
      url,
      {
        method: 'POST',
        agent: agentFor(firstTry),
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
      if (retryAfterIdleSocket(req, error, state)) sendJson(url, body, headers, false).then(resolve, reject);
      else reject(error);
    });
    req.end(payload);
  });
}

/** Sends a DELETE and resolves with its status once the answer was read. */
export function deleteRequest(url: string, headers: Record<string, string> = {}): Promise<number> {
  return sendDelete(url, headers, true);
}

function sendDelete(url: string, headers: Record<string, string>, firstTry: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const state = { firstTry, answered: false };
    const req = request(url, { method: 'DELETE', agent: agentFor(firstTry), headers }, (res) => {
      state.answered = true;
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (retryAfterIdleSocket(req, error, state)) sendDelete(url, headers, false).then(resolve, reject);
      else reject(error);
    });
    req.end();
  });
}

/** The `Authorization` header of a bench user (the stack's `bearerUser` scheme). */
export function userHeaders(userId: string): Record<string, string> {
  return { authorization: `Bearer user:${userId}` };
}
