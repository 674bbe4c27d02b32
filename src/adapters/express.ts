import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ChatHandler } from '../http/chat-handler.js';
import { toWebRequest } from './node/to-web-request.js';
import { unservableMethodResponse } from './node/unservable-method.js';
import { writeWebResponse } from './node/write-web-response.js';

/** The parts of an Express 4 or 5 request the middleware reads. */
export type ExpressRequestLike = IncomingMessage & { body?: unknown; _body?: boolean };

/** An Express 4 and 5 compatible `(req, res, next)` middleware. */
export type ExpressMiddleware = (req: ExpressRequestLike, res: ServerResponse, next: (error?: unknown) => void) => void;

/**
 * Serves a {@link ChatHandler} from Express 4 or 5.
 *
 * Mount it on a path: Express strips the mount point from `req.url`, and the handler matches its
 * routes relative to it. A body already read by `express.json()` (or any parser) is re-sent to the
 * handler; otherwise the raw request is streamed. Errors thrown by the handler go to `next(err)`;
 * everything the handler answers, including its own error responses, is written as it is.
 *
 * @example
 * ```ts
 * import express from 'express';
 * import { createChatHandler } from 'mcp-llmchat';
 * import { toExpressMiddleware } from 'mcp-llmchat/express';
 *
 * const app = express();
 * app.use('/llmchat', toExpressMiddleware(createChatHandler(options)));
 * app.listen(3000);
 * ```
 */
export function toExpressMiddleware(handler: ChatHandler): ExpressMiddleware {
  return (req, res, next) => {
    const refused = unservableMethodResponse(req.method);
    if (refused) {
      void writeWebResponse(refused, res);
      return;
    }
    let request: Request;
    try {
      request = toWebRequest(req, res, { parsedBody: parsedBodyOf(req) });
    } catch (error) {
      next(error);
      return;
    }
    handler
      .fetch(request)
      .then((response) => {
        // Not chained: the writing never rejects (headers that cannot be set throw here, and go
        // to `next`), and a chain would hold `next`, with the router state it closes over, for
        // as long as the answer streams.
        void writeWebResponse(response, res, { signal: request.signal });
      })
      .catch(next);
  };
}

// body-parser 1 (Express 4) marks what it parsed with `_body`, but sets `body = {}` on requests it
// skipped; body-parser 2 (Express 5) leaves `body` undefined then. Either way a body only counts
// once the request stream has been read, else the raw stream still holds it.
function parsedBodyOf(req: ExpressRequestLike): unknown {
  return req._body === true || req.readableEnded ? req.body : undefined;
}
