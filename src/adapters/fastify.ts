import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ChatHandler } from '../http/chat-handler.js';
import { stripMountPrefix } from './node/strip-mount-prefix.js';
import { toWebRequest } from './node/to-web-request.js';
import { writeWebResponse } from './node/write-web-response.js';

// Only a backstop against unbounded uploads: the handler enforces its own, smaller limit.
const RAW_BODY_LIMIT_BYTES = 10 * 1024 * 1024;

/**
 * Serves a {@link ChatHandler} from Fastify 5, as an encapsulated plugin.
 *
 * Inside its own scope it replaces Fastify's content-type parsers with one that hands the raw body
 * bytes to the handler untouched, so a malformed body gets the handler's answer rather than
 * Fastify's 400; the rest of the app keeps its parsers. Every method on the prefix and below is
 * routed to the handler, with URLs relative to the prefix. The reply is hijacked and written
 * straight to the socket, so events are flushed one by one; `onSend` hooks do not run for it, but
 * headers set earlier with `reply.header()` (CORS, for example) are kept. Handler errors go to
 * Fastify's error handler.
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
    fastify.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: RAW_BODY_LIMIT_BYTES }, (_request, body, done) =>
      done(null, body),
    );
    const prefix = fastify.prefix;
    const serve = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
      const rawUrl = request.raw.url ?? '/';
      const url = stripMountPrefix(rawUrl, prefix) ?? rawUrl;
      const webRequest = toWebRequest(request.raw, reply.raw, { url, parsedBody: request.body });
      const response = await handler.fetch(webRequest);
      reply.hijack();
      for (const [name, value] of Object.entries(reply.getHeaders())) {
        if (value !== undefined) reply.raw.setHeader(name, value);
      }
      // Returned, not awaited: the Response need not live as long as the answer streams.
      return writeWebResponse(response, reply.raw, { signal: webRequest.signal });
    };
    fastify.all('/', serve);
    fastify.all('/*', serve);
  };
}
