import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { createChatHandler } from 'mcp-llmchat';
import { toKoaMiddleware } from 'mcp-llmchat/koa';
import { isLocalWebRequest } from '../../demo/local-only.js';
import { startDevServices } from '../shared/dev-services.js';
import { closeHttpServer, onShutdown } from '../shared/shutdown.js';

// The demo MCP server, and a real model from OPENAI_API_KEY / ANTHROPIC_API_KEY or else the scripted one.
const services = await startDevServices();

const handler = createChatHandler({
  // Stand-in for your own authentication (session cookie, JWT, ...): the returned id keys the
  // user's chat session. Never trust a client-chosen id like this in production.
  authenticate: (request) => {
    // Only pages on this machine: a site that points its name at 127.0.0.1 (DNS rebinding) gets nothing.
    if (!isLocalWebRequest(request, (server.address() as AddressInfo).port)) return null;
    const id = request.headers.get('x-user-id');
    return id ? { id } : null;
  },
  models: services.models,
  mcp: { defaultServer: services.mcpServer },
  logger: { warn: console.warn, error: console.error },
});

const app = new Koa();
// Requests outside /llmchat go on to your other middleware; the handler sees paths relative to it.
app.use(toKoaMiddleware(handler, { prefix: '/llmchat' }));
app.use((ctx) => {
  ctx.body = 'Your other routes. The chat API lives under /llmchat.';
});

const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});

onShutdown(async () => {
  await closeHttpServer(server);
  await handler.close();
  await services.close();
});
