import type { IncomingMessage, ServerResponse } from 'node:http';
import { declaredLength } from '../../http/content-length.js';
import { nodeBodyRequest } from '../../http/node-body.js';
import { readNodeBody } from './read-node-body.js';
import { pathOfTarget } from './request-target.js';

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
}

// Framing and encoding described the bytes on the wire, not the body the host hands us.
const WIRE_HEADERS = new Set(['content-length', 'transfer-encoding', 'content-encoding']);

// The Host header is the client's word, and Node lets `/`, `?`, `#` and `@` through in it: glued
// in front of the path, `Host: x/connect?` would move the route the handler serves away from the
// one the host's own middleware checked. Only a plain name or address, with a port, is used.
const PLAIN_HOST = /^(?:[A-Za-z0-9._~-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;

// What keeps each Request's signal hearing, for as long as its response lives. Node's
// `request.signal` is not the signal the Request was built with but that of a controller the
// Request makes, which hears ours only while it lives (undici links the two weakly): a controller
// collected mid-answer would leave a handler's listeners on `request.signal` deaf to the client
// leaving. That controller is kept, not the whole Request with its headers and unread body stream.
const SIGNAL_KEEPER_OF_RESPONSE = new WeakMap<ServerResponse, object>();

/**
 * Builds a web `Request` from a Node request, for a handler that speaks `fetch`.
 *
 * The body is a real web body that reads the Node stream (or the host's parsed body) only when
 * someone asks; a request whose headers say it has no body gets none (`request.body` is null,
 * as for GET). A handler from `createChatHandler` reads the same body without the web stream
 * (see `nodeBodyRequest`), any other handler or wrapper just reads `request.body`. HTTP/2
 * pseudo-headers are dropped. The request's signal aborts when the client goes away before the
 * response finished: that is watched on `res` because `req` emits `close` as soon as its body has
 * been read. The signal lives as long as `res` (see above).
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

  const path = pathOfTarget(options.url ?? req.url ?? '/');
  const host = req.headers.host ?? (req.headers[':authority'] as string | undefined);
  let url = `http://${host !== undefined && PLAIN_HOST.test(host) ? host : 'localhost'}${path}`;
  if (!URL.canParse(url)) url = `http://localhost${path}`;

  const controller = new AbortController();
  if (res.closed && !res.writableFinished) controller.abort();
  else
    res.once('close', () => {
      if (!res.writableFinished) controller.abort();
    });

  const method = req.method ?? 'GET';
  let request: Request;
  if (method === 'GET' || method === 'HEAD' || (!parsed && carriesNoBody(req))) {
    request = new Request(url, { method, headers, signal: controller.signal });
  } else {
    const source = {
      parsed: parsedBody,
      // Only a parsed body needs it: the handler reads the header of an unread one itself.
      declaredBytes: parsed ? declaredLength(req.headers['content-length']) : undefined,
      read: (maxBytes: number) => readNodeBody(req, maxBytes),
      chunks: (): AsyncIterable<Uint8Array> => (parsed ? once(parsedBytes(parsedBody)) : req),
    };
    request = nodeBodyRequest(url, { method, headers, signal: controller.signal }, source);
  }
  SIGNAL_KEEPER_OF_RESPONSE.set(res, signalKeeperOf(request));
  return request;
}

/**
 * The controller behind `request.signal` (undici keeps it under a symbol named `abortController`:
 * Node 20 to 24), so that holding it keeps the signal hearing; the Request itself where it cannot
 * be found (a later Node, another runtime), which keeps it too, at the cost of the rest.
 * @internal
 */
export function signalKeeperOf(request: Request): object {
  for (const symbol of Object.getOwnPropertySymbols(request)) {
    if (symbol.description !== 'abortController') continue;
    const candidate = (request as unknown as Record<symbol, unknown>)[symbol];
    if (candidate instanceof AbortController && candidate.signal === request.signal) return candidate;
  }
  return request;
}

/**
 * Whether an HTTP/1 request says it has no body: no `Transfer-Encoding` and no `Content-Length`
 * (or `0`), which is how HTTP/1.1 frames a request without one (RFC 9112 §6.3). Its Request
 * then has a null body, as a Request made without one has, instead of a web stream that would
 * read nothing (on Node 20 that stream made building the Request about three times as costly).
 * HTTP/2 frames bodies without either header, so its requests keep their stream.
 */
function carriesNoBody(req: IncomingMessage): boolean {
  if (req.httpVersionMajor !== 1) return false;
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] === undefined && (length === undefined || length === '0');
}

// What a host parser produced, as the bytes a handler reading the web body gets.
function parsedBytes(parsed: unknown): Uint8Array {
  if (parsed instanceof Uint8Array) return parsed;
  return new TextEncoder().encode(typeof parsed === 'string' ? parsed : JSON.stringify(parsed));
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}
