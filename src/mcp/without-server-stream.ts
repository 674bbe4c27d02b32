import type { FetchLike } from '../types.js';

/**
 * The MCP fetch of a Streamable HTTP connection that will not listen for messages outside its
 * own requests: a connection opened to list the tools and closed again.
 *
 * After the handshake the SDK transport opens a GET event stream on the server's endpoint, on
 * which a server may send notifications and requests of its own; the spec leaves that stream to
 * the client. Such a connection would open it only to cut it a moment later: one request in five
 * of a `/connect`, an event stream the server sets up for nothing, and about a seventh of what a
 * connect allocates. A GET to `endpoint` is answered here with 405, which the SDK reads as "this
 * server offers no such stream" and goes on; every other request goes through `fetch`. A GET
 * with `Last-Event-ID` is not that stream but the SDK resuming the event stream of one of its
 * own requests (a server may close it before the answer and let the client reconnect), and it
 * goes through too.
 * @internal
 */
export function withoutServerStream(fetch: FetchLike, endpoint: URL): FetchLike {
  return (input, init) => {
    const method = init?.method?.toUpperCase() ?? 'GET';
    if (method === 'GET' && sameResource(input, endpoint) && !resumes(init)) {
      return Promise.resolve(new Response(null, { status: 405, statusText: 'Method Not Allowed' }));
    }
    return fetch(input, init);
  };
}

// The SDK requests the endpoint itself; a redirect or another URL is not the server stream.
function sameResource(input: string | URL, endpoint: URL): boolean {
  return (input instanceof URL ? input.href : input) === endpoint.href;
}

function resumes(init: RequestInit | undefined): boolean {
  return new Headers(init?.headers).has('last-event-id');
}
