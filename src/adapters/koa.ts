import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ChatHandler } from '../http/chat-handler.js';
import { stripMountPrefix } from './node/strip-mount-prefix.js';
import { toWebRequest } from './node/to-web-request.js';
import { unservableMethodResponse } from './node/unservable-method.js';
import { writeWebResponse } from './node/write-web-response.js';

/** The parts of a Koa 2 or 3 context the middleware uses. */
export interface KoaContextLike {
  req: IncomingMessage;
  res: ServerResponse;
  url: string;
  request: { body?: unknown; rawBody?: unknown };
  respond?: boolean;
}

/** A Koa 2 and 3 compatible `(ctx, next)` middleware. */
export type KoaMiddleware = (ctx: KoaContextLike, next: () => Promise<unknown>) => Promise<void>;

/** Options of {@link toKoaMiddleware}. */
export interface KoaMiddlewareOptions {
  /**
   * Mount point. Requests outside it (segment-aware: `/llmchat` owns `/llmchat/x`, not
   * `/llmchatx`) go on to the next middleware; the handler sees URLs relative to it.
   * @default '' (every request)
   */
  prefix?: string;
}

/**
 * Serves a {@link ChatHandler} from Koa 2 or 3.
 *
 * The response is written straight to `ctx.res` with `ctx.respond = false`, bypassing Koa's body
 * handling so that event streams are flushed event by event and the Node fast path is used;
 * middleware that post-processes `ctx.body` therefore does not see it (headers set earlier with
 * `ctx.set` are kept). A body read by a body parser is re-sent to the handler (`rawBody` as it is
 * when present); otherwise the raw request is streamed. Handler errors are thrown to Koa.
 *
 * @example
 * ```ts
 * import Koa from 'koa';
 * import { createChatHandler } from 'mcp-llmchat';
 * import { toKoaMiddleware } from 'mcp-llmchat/koa';
 *
 * const app = new Koa();
 * app.use(toKoaMiddleware(createChatHandler(options), { prefix: '/llmchat' }));
 * app.listen(3000);
 * ```
 */
export function toKoaMiddleware(handler: ChatHandler, options: KoaMiddlewareOptions = {}): KoaMiddleware {
  const prefix = options.prefix ?? '';
  return async (ctx, next) => {
    const url = stripMountPrefix(ctx.url, prefix);
    if (url === undefined) {
      await next();
      return;
    }
    const refused = unservableMethodResponse(ctx.req.method);
    if (refused) {
      ctx.respond = false;
      return writeWebResponse(refused, ctx.res);
    }
    const request = toWebRequest(ctx.req, ctx.res, { url, parsedBody: parsedBodyOf(ctx) });
    const response = await handler.fetch(request);
    ctx.respond = false;
    // Returned, not awaited: the Response need not live as long as the answer streams.
    return writeWebResponse(response, ctx.res, { signal: request.signal });
  };
}

// Body parsers set `body = {}` on requests they skip, so a body only counts once the stream was read.
function parsedBodyOf(ctx: KoaContextLike): unknown {
  const { rawBody, body } = ctx.request;
  if (rawBody !== undefined) return rawBody;
  return ctx.req.readableEnded ? body : undefined;
}
