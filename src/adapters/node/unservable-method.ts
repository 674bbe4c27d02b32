import { LlmChatError } from '../../errors.js';
import { errorResponse } from '../../http/json-response.js';

// Methods a web `Request` cannot carry (the Fetch standard forbids them): building one throws.
// Of them, only TRACE reaches a request listener in Node today (its parser refuses TRACK, and
// CONNECT is the server's `connect` event); the others are here for servers that pass them on.
const UNSERVABLE = new Set(['CONNECT', 'TRACE', 'TRACK']);

/**
 * The answer to a request whose method no route serves and no web `Request` can carry (TRACE,
 * TRACK): `501 NOT_IMPLEMENTED`, the status RFC 9110 §9.1 gives a method the server supports for
 * no resource; `undefined` for any other method. The adapters answer it before building the
 * `Request` (which would throw, and reach the host as a 500).
 * @internal
 */
export function unservableMethodResponse(method: string | undefined): Response | undefined {
  // Node's parser hands methods over in upper case, as the standard names them.
  if (method === undefined || !UNSERVABLE.has(method)) return undefined;
  return errorResponse(new LlmChatError('NOT_IMPLEMENTED', `${method} requests are not supported.`));
}
