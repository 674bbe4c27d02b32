import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bodyParser } from '@koa/bodyparser';
import express from 'express';
import express4 from 'express4';
import Fastify from 'fastify';
import Koa from 'koa';
import Koa2 from 'koa2';
import { toExpressMiddleware } from '../../src/adapters/express.js';
import { toFastifyPlugin } from '../../src/adapters/fastify.js';
import { toKoaMiddleware } from '../../src/adapters/koa.js';
import { stripMountPrefix } from '../../src/adapters/node/strip-mount-prefix.js';
import { toWebRequest } from '../../src/adapters/node/to-web-request.js';
import { unservableMethodResponse } from '../../src/adapters/node/unservable-method.js';
import { writeWebResponse } from '../../src/adapters/node/write-web-response.js';
import type { ChatHandler } from '../../src/http/chat-handler.js';

export const MOUNT = '/llmchat';
/** Answered by the host itself, outside the mount. */
export const HOST_ROUTE = '/outside';
export const HOST_ROUTE_TEXT = 'host-route';

export interface RunningHost {
  origin: string;
  /** Errors the host reported, other than clients resetting their connection. */
  errors: unknown[];
  close(): Promise<void>;
}

export interface HostKind {
  name: string;
  /** `host`: a host body parser runs before the adapter; `raw`: the adapter gets the raw bytes. */
  body: 'raw' | 'host';
  start(handler: ChatHandler): Promise<RunningHost>;
}

async function listen(server: Server, errors: unknown[] = []): Promise<RunningHost> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    errors,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function expressHost(name: string, create: typeof express, parser: boolean): HostKind {
  return {
    name,
    body: parser ? 'host' : 'raw',
    start(handler) {
      const app = create();
      if (parser) app.use(create.json());
      app.get(HOST_ROUTE, (_req, res) => {
        res.send(HOST_ROUTE_TEXT);
      });
      app.use(MOUNT, toExpressMiddleware(handler));
      return listen(createServer(app));
    },
  };
}

function koaHost(name: string, create: typeof Koa, parser: boolean): HostKind {
  return {
    name,
    body: parser ? 'host' : 'raw',
    start(handler) {
      const app = new create();
      const errors: unknown[] = [];
      // Koa reports a client resetting a response it was writing; anything else is a failure.
      app.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code !== 'ECONNRESET' && error.code !== 'EPIPE') errors.push(error);
      });
      if (parser) app.use(bodyParser());
      app.use(toKoaMiddleware(handler, { prefix: MOUNT }));
      app.use(async (ctx, next) => {
        if (ctx.path !== HOST_ROUTE) return next();
        ctx.body = HOST_ROUTE_TEXT;
      });
      return listen(createServer(app.callback()), errors);
    },
  };
}

const fastifyHost: HostKind = {
  name: 'fastify 5',
  body: 'raw',
  async start(handler) {
    const app = Fastify();
    app.get(HOST_ROUTE, async () => HOST_ROUTE_TEXT);
    // A host-wide header set the Fastify way must survive the adapter's hijacked reply.
    app.addHook('onRequest', async (_request, reply) => {
      reply.header('x-host-header', 'kept');
    });
    await app.register(toFastifyPlugin(handler), { prefix: MOUNT });
    const origin = await app.listen({ port: 0, host: '127.0.0.1' });
    return {
      origin,
      errors: [],
      close: async () => {
        app.server.closeAllConnections();
        await app.close();
      },
    };
  },
};

const nodeHost: HostKind = {
  name: 'node:http bridge',
  body: 'raw',
  start(handler) {
    return listen(
      createServer((req, res) => {
        const url = stripMountPrefix(req.url ?? '/', MOUNT);
        if (url === undefined) {
          res.statusCode = req.url === HOST_ROUTE ? 200 : 404;
          res.end(req.url === HOST_ROUTE ? HOST_ROUTE_TEXT : 'not found');
          return;
        }
        const refused = unservableMethodResponse(req.method);
        if (refused) {
          void writeWebResponse(refused, res);
          return;
        }
        const request = toWebRequest(req, res, { url });
        // Only the signal in this scope: its `catch` closure lives until the answer ends, and would
        // keep the Request alive for the adapters' tests, which check that toWebRequest does.
        const { signal } = request;
        handler
          .fetch(request)
          .then((response) => writeWebResponse(response, res, { signal }))
          .catch(() => {
            res.statusCode = 500;
            res.end();
          });
      }),
    );
  },
};

/** Every host the shared scenarios run against. */
export const HOSTS: HostKind[] = [
  expressHost('express 5', express, false),
  expressHost('express 5 + express.json()', express, true),
  expressHost('express 4', express4, false),
  expressHost('express 4 + express.json()', express4, true),
  fastifyHost,
  koaHost('koa 3', Koa, false),
  koaHost('koa 3 + bodyparser', Koa, true),
  koaHost('koa 2', Koa2, false),
  koaHost('koa 2 + bodyparser', Koa2, true),
  nodeHost,
];
