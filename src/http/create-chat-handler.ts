import { MemoryMessageBus } from '../bus/memory-message-bus.js';
import { ConnectionCache } from '../chat/connection-cache.js';
import { isLlmChatError, LlmChatError } from '../errors.js';
import { ModelRegistry } from '../llm/model-registry.js';
import { LockManager } from '../lock/lock-manager.js';
import { OAuthManager } from '../oauth/oauth-manager.js';
import { oauthCallbackRoute, oauthClientMetadataRoute, oauthForgetRoute } from '../oauth/oauth-routes.js';
import { SessionStore } from '../session/session-store.js';
import { memoryStorage, type Storage } from '../storage.js';
import type { FetchLike } from '../types.js';
import type { ChatHandler } from './chat-handler.js';
import type { ChatHandlerMcpOptions, ChatHandlerOptions } from './chat-handler-options.js';
import { chatRoute } from './chat-route.js';
import { connectRoute } from './connect-route.js';
import { followDisconnects } from './disconnect-broadcast.js';
import type { HandlerContext } from './handler-context.js';
import { type HandlerSettings, resolveHandlerSettings } from './handler-settings.js';
import { errorResponse } from './json-response.js';
import type { LiveSession } from './live-session.js';
import { mcpEndpointPolicy } from './mcp-endpoint-policy.js';
import { matchRoute, type RouteSpec } from './route-table.js';
import { normalizeAllowedUrl } from './server-url-policy.js';
import { configRoute, disconnectRoute, modelsRoute, statusRoute } from './session-routes.js';
import { createTurnOps } from './turn-ops.js';
import { usageRoute } from './usage-route.js';

type RouteName =
  | 'connect'
  | 'chat'
  | 'disconnect'
  | 'status'
  | 'config'
  | 'models'
  | 'usage'
  | 'oauthCallback'
  | 'oauthMetadata'
  | 'oauthForget';

const ROUTES: readonly RouteSpec<RouteName>[] = [
  { name: 'connect', method: 'POST', path: '/connect' },
  { name: 'chat', method: 'POST', path: '/chat' },
  { name: 'disconnect', method: 'POST', path: '/disconnect' },
  { name: 'status', method: 'GET', path: '/status/:user_id' },
  { name: 'config', method: 'GET', path: '/config/:user_id' },
  { name: 'models', method: 'GET', path: '/gateway/models' },
  { name: 'oauthCallback', method: 'GET', path: '/oauth/callback' },
  { name: 'oauthMetadata', method: 'GET', path: '/oauth/client-metadata.json' },
  { name: 'oauthForget', method: 'DELETE', path: '/oauth/:user_id' },
  { name: 'usage', method: 'GET', path: '/usage/:user_id' },
];

/**
 * Creates the web-standard handler of the `/llmchat` routes (`Request` → `Response`). Mount it
 * with an adapter (`mcp-llmchat/express`, `/fastify`, `/koa`) or hand `handler.fetch` to any
 * host that speaks web `Request`s (Hono, Bun, Deno, Next route handlers).
 *
 * @example
 * const handler = createChatHandler({
 *   authenticate: async (request) => ({ id: await userIdFromSession(request) }),
 *   models: [{ id: 'gpt-4o', provider: 'openai', apiKey: openAiKey }],
 *   mcp: { defaultServer: { url: 'http://127.0.0.1:8000/mcp' } },
 * });
 * app.use('/llmchat', toExpressMiddleware(handler));
 */
export function createChatHandler(options: ChatHandlerOptions): ChatHandler {
  // Every option is checked here, once: a bad value fails start-up, never a turn.
  const settings = resolveHandlerSettings(options);
  // A storage the handler made itself is its to close; a host's storage stays open.
  const ownStorage = options.storage ? undefined : memoryStorage(options.logger ? { logger: options.logger } : {});
  const context = createContext(options, settings, ownStorage ?? (options.storage as Storage));
  const basePath = normalizeBasePath(options.basePath);
  const disconnects = followDisconnects(context.bus, context.cache, context.logger);

  const handler: ChatHandler = {
    usage: context.ops.ledger,
    async fetch(request: Request): Promise<Response> {
      try {
        const pathname = new URL(request.url, 'http://localhost').pathname;
        if (!pathname.startsWith(basePath) && `${pathname}/` !== basePath) {
          throw new LlmChatError('NOT_FOUND', 'Not found.');
        }
        const lookup = matchRoute(ROUTES, request.method, pathname.slice(basePath.length - 1));
        if (lookup.kind === 'not-found') throw new LlmChatError('NOT_FOUND', 'Not found.');
        if (lookup.kind === 'method-not-allowed') {
          return errorResponse(new LlmChatError('METHOD_NOT_ALLOWED', 'Method not allowed.'), {
            allow: lookup.allow.join(', '),
          });
        }
        const { name, param = '' } = lookup.route;
        switch (name) {
          case 'connect':
            return await connectRoute(context, request);
          case 'chat':
            return await chatRoute(context, request);
          case 'disconnect':
            return await disconnectRoute(context, request);
          case 'status':
            return await statusRoute(context, request, param);
          case 'config':
            return await configRoute(context, request, param);
          case 'models':
            return await modelsRoute(context, request);
          case 'oauthCallback':
            return await oauthCallbackRoute(context, request);
          case 'oauthMetadata':
            return oauthClientMetadataRoute(context);
          case 'oauthForget':
            return await oauthForgetRoute(context, request, param);
          case 'usage':
            return await usageRoute(context, request, param);
        }
      } catch (error) {
        if (!isLlmChatError(error)) {
          context.logger?.error?.('request failed', { error: String(error) });
        }
        return errorResponse(error);
      }
    },
    async close(): Promise<void> {
      await disconnects.stop();
      await context.cache.close();
      await ownStorage?.close();
    },
  };
  return handler;
}

function createContext(options: ChatHandlerOptions, settings: HandlerSettings, storage: Storage): HandlerContext {
  const registry = options.models instanceof ModelRegistry ? options.models : new ModelRegistry([...options.models]);
  const mcp: ChatHandlerMcpOptions = {
    ...options.mcp,
    toolTimeoutMs: settings.toolTimeoutMs,
    connectTimeoutMs: settings.connectTimeoutMs,
    maxResultChars: settings.maxResultChars,
  };
  const defaultServer = mcp.defaultServer ? normalizeDefaultServer(mcp.defaultServer) : undefined;
  const allowedUrls = (mcp.allowedUrls ?? []).map(normalizeAllowedUrl);
  if (defaultServer?.url) allowedUrls.push(defaultServer.url);
  const baseFetch: FetchLike = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const logger = options.logger;
  const locks = new LockManager(storage.locks, { ttlMs: settings.lockTtlMs, ...(logger ? { logger } : {}) });
  // An allowed server must not bounce us somewhere the allow-list never named.
  const fetch: FetchLike = (input, init) => baseFetch(input, { ...init, redirect: 'error' });
  const oauth = options.oauth
    ? new OAuthManager({
        options: options.oauth,
        sealKey: options.sealKey,
        storage,
        locks,
        fetch,
        ...(logger ? { logger } : {}),
      })
    : undefined;
  return {
    options,
    settings,
    ops: createTurnOps(options, storage, locks),
    store: new SessionStore(storage.sessions, {
      sessionTtlMs: settings.sessionTtlMs,
      historyTtlMs: settings.historyTtlMs,
      maxHistoryTurns: settings.maxHistoryTurns,
      ...(options.sealKey === undefined ? {} : { sealKey: options.sealKey }),
      ...(logger ? { logger } : {}),
    }),
    locks,
    registry,
    cache: new ConnectionCache<LiveSession>({
      idleMs: settings.connectionIdleMs,
      max: settings.maxConnections,
      ...(logger ? { logger } : {}),
    }),
    // A storage written before the bus existed still works, for this process alone.
    bus: storage.bus ?? new MemoryMessageBus(),
    liveDeps: {
      registry,
      mcp,
      servers: {
        allowedUrls,
        stdioServer: defaultServer?.transport === 'stdio' ? defaultServer : undefined,
      },
      ...(options.systemPrompt === undefined ? {} : { systemPrompt: options.systemPrompt }),
      maxToolRounds: settings.maxToolRounds,
      ...(options.reasoningEvents === undefined ? {} : { reasoningEvents: options.reasoningEvents }),
      ...(options.llm ? { llm: options.llm } : {}),
      fetch,
      ...(oauth ? { oauth } : {}),
      ...(options.serverAuth ? { serverAuth: options.serverAuth } : {}),
      ...(logger ? { logger } : {}),
      isMcpUrlAllowed: mcpEndpointPolicy(allowedUrls, defaultServer),
    },
    allowedUrls,
    defaultServer,
    logger,
    ...(oauth ? { oauth } : {}),
  };
}

function normalizeDefaultServer(server: NonNullable<ChatHandlerOptions['mcp']>['defaultServer'] & object) {
  if (!server.url) return server;
  return { ...server, url: normalizeAllowedUrl(server.url) };
}

// '/llmchat' and '/llmchat/' both become '/llmchat/'; unset becomes '/'.
function normalizeBasePath(basePath: string | undefined): string {
  if (!basePath || basePath === '/') return '/';
  const withLeading = basePath.startsWith('/') ? basePath : `/${basePath}`;
  return withLeading.endsWith('/') ? withLeading : `${withLeading}/`;
}
