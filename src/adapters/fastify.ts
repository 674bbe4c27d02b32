import type { ServerResponse } from 'node:http';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ChatHandler } from '../http/chat-handler.js';
import { readNodeBody } from './node/read-node-body.js';
import { pathOfTarget } from './node/request-target.js';
import { stripMountPrefix } from './node/strip-mount-prefix.js';
import { toWebRequest } from './node/to-web-request.js';
import { unservableMethodResponse } from './node/unservable-method.js';
import { writeWebResponse } from './node/write-web-response.js';

// Only a backstop against unbounded uploads, for a payload a `preParsing` hook replaced: the
// handler enforces its own, smaller limit on what it is handed.
const RAW_BODY_LIMIT_BYTES = 10 * 1024 * 1024;

/**
 * Serves a {@link ChatHandler} from Fastify 5, as an encapsulated plugin.
 *
 * Inside its own scope it replaces Fastify's content-type parsers with one that leaves the request
 * body unread, so the handler reads it itself: its own size limit applies (a `Content-Length`
 * above it is answered 413 before any of the body is sent), and a malformed body gets the
 * handler's answer rather than Fastify's 400; the rest of the app keeps its parsers. A payload a
 * `preParsing` hook replaced (request decompression, say) is read there and handed on as it is.
 * Every method on the prefix and below is routed to the handler, with URLs relative to the prefix
 * (a prefix with parameters, `/t/:tenant/llmchat`, included). A Content-Type Fastify cannot read
 * reaches the handler too, which answers it as it does on every host.
 * The reply is hijacked and written straight to the socket, so events are flushed one by one;
 * `onSend` hooks do not run for it, but headers set earlier with `reply.header()` (CORS, for
 * example) are kept. Handler errors go to Fastify's error handler; a response Node refuses to
 * write (a header value with a control character) is answered 500 and logged with `request.log`.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify';
 * import { createChatHandler } from 'mcp-llmchat';
 * import { toFastifyPlugin } from 'mcp-llmchat/fastify';
 *
 * const app = Fastify();
 * await app.register(toFastifyPlugin(createChatHandler(options)), { prefix: '/llmchat' });
 * await app.listen({ port: 3000 });
 * ```
 */
export function toFastifyPlugin(handler: ChatHandler): FastifyPluginAsync {
  return async (fastify) => {
    fastify.removeAllContentTypeParsers();
    // '*' is the fallback for every content type, and for bodies sent without one.
    fastify.addContentTypeParser('*', (request, payload, done) => {
      // Fastify's own parsers would read up to its `bodyLimit` before the handler's limit applies,
      // and the parsed body would lose the `Content-Length` that lets the handler refuse it early.
      if (payload === request.raw) done(null, undefined);
      else readNodeBody(payload, RAW_BODY_LIMIT_BYTES).then((body) => done(null, body), done);
    });
    const prefix = fastify.prefix;
    const serve = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
      let response = unservableMethodResponse(request.raw.method);
      let signal: AbortSignal | undefined;
      if (response === undefined) {
        const url = relativeToPrefix(request.raw.url ?? '/', prefix);
        const webRequest = toWebRequest(request.raw, reply.raw, { url, parsedBody: request.body });
        signal = webRequest.signal;
        response = await handler.fetch(webRequest);
      }
      reply.hijack();
      try {
        for (const [name, value] of Object.entries(reply.getHeaders())) {
          if (value !== undefined) reply.raw.setHeader(name, value);
        }
        // Returned, not awaited: the Response need not live as long as the answer streams.
        return writeWebResponse(response, reply.raw, signal ? { signal } : {});
      } catch (error) {
        // Hijacked, the reply is ours alone: Fastify would neither answer nor log this.
        request.log.error({ err: error }, 'mcp-llmchat: the response could not be written');
        failHijacked(reply.raw);
      }
    };
    // Fastify refuses a Content-Type it cannot read (`nonsense`, `a, b`) with its own 415 before
    // any parser runs: the handler answers those itself, as on every other host (a route that
    // takes no body serves them; one that takes JSON answers its typed 415). Other errors go on
    // to the host's error handler.
    fastify.setErrorHandler((error, request, reply) => {
      if ((error as { code?: unknown }).code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' && !reply.sent) {
        return serve(request, reply);
      }
      throw error;
    });
    fastify.all('/', serve);
    fastify.all('/*', serve);
    // Methods Fastify routes for no path (PURGE, TRACK) would be its own 404: under a prefix the
    // handler answers them as on every host (405 with `Allow`, or 501). Without one, the app's
    // 404s stay the app's (and an app may set its own not-found handler only once).
    if (prefix !== '') fastify.setNotFoundHandler(serve);
  };
}

/**
 * The request's URL relative to the plugin's prefix, for the handler to route. Fastify routed the
 * request here, so its path begins with the prefix's segments: matched as written when they are,
 * and otherwise (a prefix with parameters, `/t/:tenant/llmchat`, or one the client
 * percent-encoded, which Fastify's router decodes) dropped by count. The prefix is never left on
 * the URL, where the handler would find no route.
 */
function relativeToPrefix(rawUrl: string, prefix: string): string {
  const literal = stripMountPrefix(rawUrl, prefix);
  if (literal !== undefined) return literal;
  const url = pathOfTarget(rawUrl);
  const queryAt = url.indexOf('?');
  const path = queryAt === -1 ? url : url.slice(0, queryAt);
  const query = queryAt === -1 ? '' : url.slice(queryAt);
  const segments = path.split('/');
  let toDrop = prefix.split('/').filter((segment) => segment !== '').length;
  let index = 0;
  for (; index < segments.length && toDrop > 0; index++) if (segments[index] !== '') toDrop--;
  return `/${segments.slice(index).join('/')}${query}`;
}

/** Ends a hijacked reply whose response could not be written: 500 if nothing was sent yet. */
function failHijacked(res: ServerResponse): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // The headers set so far belong to the answer that could not be sent.
  for (const name of res.getHeaderNames()) res.removeHeader(name);
  res.writeHead(500).end();
}
