import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { createChatHandler } from 'mcp-llmchat';
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
  // Hono hands over the full URL (/llmchat/chat), so tell the handler where its routes start.
  basePath: '/llmchat',
  logger: { warn: console.warn, error: console.error },
});

// handler.fetch takes a web Request and returns a web Response: no adapter needed. The same line
// works in Bun, Deno, Cloudflare-style runtimes and Next.js route handlers.
const app = new Hono();
app.all('/llmchat/*', (c) => handler.fetch(c.req.raw));

const server = serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 3000), hostname: '127.0.0.1' }, (info) => {
  console.log(`listening on http://127.0.0.1:${info.port}`);
});

onShutdown(async () => {
  await closeHttpServer(server);
  await handler.close();
  await services.close();
});
