import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { createChatHandler } from 'mcp-llmchat';
import { toExpressMiddleware } from 'mcp-llmchat/express';
import { buildMcpServer } from '../../demo/demo-mcp-server.js';
import { startOAuthMcpServer } from '../../demo/demo-oauth-mcp-server.js';
import { isLocalWebRequest } from '../../demo/local-only.js';
import { NotesStore } from '../../demo/tools/notes-store.js';
import { startDevServices } from '../shared/dev-services.js';
import { closeHttpServer, onShutdown } from '../shared/shutdown.js';

// Stand-in for a remote MCP server that requires OAuth: the demo tools behind a local
// authorization server with a consent page. Your users' servers (code hosts, trackers, ...) work the same way.
const notes = new NotesStore();
const tools = await startOAuthMcpServer({ consent: true, createServer: () => buildMcpServer(notes) });
const services = await startDevServices({ ...process.env, MCP_URL: tools.url });

const app = express();
// The demo chat page: it goes to the consent page when /connect answers MCP_AUTHORIZATION_REQUIRED.
app.use(express.static(fileURLToPath(new URL('../../demo/public/', import.meta.url))));
const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
const origin = `http://localhost:${(server.address() as AddressInfo).port}`;

const handler = createChatHandler({
  // Stand-in for your own authentication. The callback is a top-level navigation coming back from
  // the authorization server, so it must carry your session cookie (SameSite=Lax, not Strict).
  authenticate: (request) => {
    // A cookie goes along with requests a page elsewhere makes: only pages on this machine count,
    // and a POST must come from this origin (no DNS rebinding, no form from another local port).
    if (!isLocalWebRequest(request, (server.address() as AddressInfo).port)) return null;
    const cookie = /(?:^|;\s*)demo_user=([\w-]{6,64})/.exec(request.headers.get('cookie') ?? '')?.[1];
    const id = request.headers.get('x-demo-user') ?? cookie;
    return id ? { id } : null;
  },
  models: services.models,
  mcp: { defaultServer: services.mcpServer },
  // Tokens are sealed in the storage with this key; keep yours in your secret store.
  sealKey: process.env.SEAL_KEY ?? randomBytes(32),
  oauth: {
    redirectUrl: `${origin}/llmchat/oauth/callback`, // this handler's GET /oauth/callback
    returnUrl: `${origin}/`, // back to the chat page, which then connects again
    clientName: 'mcp-llmchat OAuth example',
  },
  logger: { warn: console.warn, error: console.error },
});
app.use('/llmchat', toExpressMiddleware(handler));
console.log(`listening on ${origin} (open it in a browser; MCP server behind OAuth: ${tools.url})`);

onShutdown(async () => {
  await closeHttpServer(server);
  await handler.close();
  await Promise.all([services.close(), tools.close()]);
});
