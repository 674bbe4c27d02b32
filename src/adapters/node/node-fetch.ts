import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { setNodeResponseBody } from '../../llm/byte-source.js';
import type { FetchLike } from '../../types.js';

/** A fetch for provider calls over `node:http`, with the agents to close. */
export interface NodeFetch {
  fetch: FetchLike;
  /** Closes the keep-alive sockets. */
  close(): void;
}

const MAX_ERROR_BODY_BYTES = 64 * 1024;

/**
 * A `fetch` for LLM provider calls built on `node:http`/`node:https` with keep-alive agents.
 * A successful answer's body stays a Node stream (attached with `setNodeResponseBody`, the web
 * `body` is `null`), which the providers read without a web-stream step per network chunk; an
 * error answer is read whole (it is small) into an ordinary `Response`. Network failures reject
 * with a `TypeError`, as `fetch` does; an aborted signal rejects with its reason.
 * @internal
 */
export function createNodeFetch(): NodeFetch {
  const http = new HttpAgent({ keepAlive: true });
  const https = new HttpsAgent({ keepAlive: true });
  const fetch: FetchLike = (input, init = {}) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(String(input));
      const secure = url.protocol === 'https:';
      if (!secure && url.protocol !== 'http:') {
        reject(new TypeError('fetch failed: unsupported protocol'));
        return;
      }
      const signal = init.signal ?? undefined;
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const send = secure ? httpsRequest : httpRequest;
      const req = send(url, {
        method: init.method ?? 'GET',
        headers: Object.fromEntries(new Headers(init.headers as HeadersInit | undefined)),
        agent: secure ? https : http,
      });
      const onAbort = () => req.destroy(signal?.reason instanceof Error ? signal.reason : undefined);
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => signal?.removeEventListener('abort', onAbort);
      req.once('error', (error) => {
        done();
        reject(signal?.aborted ? signal.reason : new TypeError('fetch failed', { cause: error }));
      });
      req.once('response', (res) => {
        res.once('close', done);
        const headers = toHeaders(res);
        const status = res.statusCode ?? 502;
        if (status >= 200 && status < 300) {
          resolve(setNodeResponseBody(new Response(null, { status, headers }), res));
          return;
        }
        readSmallBody(res).then((text) => resolve(new Response(text, { status, headers })), reject);
      });
      req.end(typeof init.body === 'string' || init.body instanceof Uint8Array ? init.body : undefined);
    });
  return {
    fetch,
    close() {
      http.destroy();
      https.destroy();
    },
  };
}

function toHeaders(res: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(res.headers)) {
    if (value === undefined) continue;
    headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  return headers;
}

function readSmallBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      if (size < MAX_ERROR_BODY_BYTES) chunks.push(chunk);
      size += chunk.length;
    });
    const finish = () => resolve(Buffer.concat(chunks).toString('utf8').slice(0, MAX_ERROR_BODY_BYTES));
    res.once('end', finish);
    res.once('error', finish);
    res.once('close', finish);
  });
}
