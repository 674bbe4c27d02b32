import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { createChatHandler } from 'mcp-llmchat';
import { toFastifyPlugin } from 'mcp-llmchat/fastify';
import { isLocalWebRequest } from '../../demo/local-only.js';
import { startDevServices } from '../shared/dev-services.js';
import { onShutdown } from '../shared/shutdown.js';

// The demo MCP server, and a real model from OPENAI_API_KEY / ANTHROPIC_API_KEY or else the scripted one.
const services = await startDevServices();

const handler = createChatHandler({
  // Stand-in for your own authentication (session cookie, JWT, ...): the returned id keys the
  // user's chat session. Never trust a client-chosen id like this in production.
  authenticate: (request) => {
    // Only pages on this machine: a site that points its name at 127.0.0.1 (DNS rebinding) gets nothing.
    if (!isLocalWebRequest(request, (app.server.address() as AddressInfo).port)) return null;
    const id = request.headers.get('x-user-id');
    return id ? { id } : null;
  },
  models: services.models,
  mcp: { defaultServer: services.mcpServer },
  logger: { warn: console.warn, error: console.error },
});

// forceCloseConnections: app.close() cuts open chat streams instead of waiting for them to end.
const app = Fastify({ forceCloseConnections: true });
// The plugin is encapsulated: its raw-body parser does not replace the parsers of your other routes.
await app.register(toFastifyPlugin(handler), { prefix: '/llmchat' });
app.addHook('onClose', () => handler.close());

const address = await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' });
console.log(`listening on ${address}`);

onShutdown(async () => {
  await app.close();
  await services.close();
});
