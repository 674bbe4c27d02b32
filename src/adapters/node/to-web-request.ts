import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { setNodeRequestBody } from '../../http/node-body.js';
import { readNodeBody } from './read-node-body.js';

/** Options of {@link toWebRequest}. */
export interface ToWebRequestOptions {
  /**
   * The body as the host already read it (a body parser ran). Strings and bytes are passed as they
   * are, anything else is sent as JSON. Leave it `undefined` to stream the raw request instead.
   * @default undefined
   */
  parsedBody?: unknown;
  /**
   * Path and query relative to where the host mounted the handler.
   * @default req.url
   */
  url?: string;
  /**
   * Keep the body a Node stream, read by the handler through `NODE_REQUEST` (only for handlers
   * made by `createChatHandler`, which know how); the Request then has no web body.
   * @default false
   */
  nodeBody?: boolean;
}

// Framing and encoding described the bytes on the wire, not the body the host hands us.
const WIRE_HEADERS = new Set(['content-length', 'transfer-encoding', 'content-encoding']);

/**
 * Builds a web `Request` from a Node request, for a handler that speaks `fetch`.
 *
 * With `nodeBody`, the body is not a web stream: the Request carries a Node body source (see
 * `NODE_REQUEST`) that the handler reads directly. HTTP/2 pseudo-headers are dropped. The request's signal aborts when the client goes away before
 * the response finished: that is watched on `res` because `req` emits `close` as soon as its body
 * has been read.
 */
export function toWebRequest(req: IncomingMessage, res: ServerResponse, options: ToWebRequestOptions = {}): Request {
  const { parsedBody } = options;
  const parsed = parsedBody !== undefined;
  const headers = new Headers();
  for (const name in req.headers) {
    const value = req.headers[name];
    if (value === undefined || name.charCodeAt(0) === 58 || (parsed && WIRE_HEADERS.has(name))) continue;
    headers.append(name, Array.isArray(value) ? value.join(', ') : value);
  }

  const path = options.url ?? req.url ?? '/';
  const host = req.headers.host ?? (req.headers[':authority'] as string | undefined) ?? 'localhost';
  let url = `http://${host}${path}`;
  if (!URL.canParse(url)) url = `http://localhost${path.startsWith('/') ? path : `/${path}`}`;

  const controller = new AbortController();
  if (res.closed && !res.writableFinished) controller.abort();
  else
    res.once('close', () => {
      if (!res.writableFinished) controller.abort();
    });

  const method = req.method ?? 'GET';
  if (method === 'GET' || method === 'HEAD') return new Request(url, { method, headers, signal: controller.signal });
  if (options.nodeBody) {
    // No web stream per request: the handler reads the Node stream (or the host's parsed body).
    const request = new Request(url, { method, headers, signal: controller.signal });
    return setNodeRequestBody(request, { parsed: parsedBody, read: (maxBytes) => readNodeBody(req, maxBytes) });
  }
  const raw = typeof parsedBody === 'string' || parsedBody instanceof Uint8Array;
  const body = !parsed ? Readable.toWeb(req) : raw ? parsedBody : JSON.stringify(parsedBody);
  // `duplex` is required by Node for a streamed body but missing from the DOM typings.
  return new Request(url, { method, headers, body, signal: controller.signal, duplex: 'half' } as RequestInit);
}
