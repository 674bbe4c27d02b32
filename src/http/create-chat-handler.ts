import { approvedToolsKey } from '../approval/approval-gate.js';
import { resolveAskSettings } from '../approval/ask-settings.js';
import { AskBroker } from '../asks/ask-broker.js';
import { MemoryMessageBus } from '../bus/memory-message-bus.js';
import { ConnectionCache } from '../chat/connection-cache.js';
import { namedConversation } from '../conversations/conversation-id.js';
import { ConversationSlots } from '../conversations/conversation-slots.js';
import { Conversations } from '../conversations/conversations.js';
import { MemoryConversationBackend } from '../conversations/memory-conversation-backend.js';
import { isLlmChatError, LlmChatError } from '../errors.js';
import { copyWith } from '../internal/copy-with.js';
import { SingleFlight } from '../internal/single-flight.js';
import { ModelRegistry } from '../llm/model-registry.js';
import { LockManager } from '../lock/lock-manager.js';
import { OAuthManager } from '../oauth/oauth-manager.js';
import { oauthCallbackRoute, oauthClientMetadataRoute, oauthForgetRoute } from '../oauth/oauth-routes.js';
import { createPublicAddressFetch, type PublicAddressFetch } from '../oauth/public-address-fetch.js';
import { SessionStore } from '../session/session-store.js';
import { type ChatStorage, memoryStorage } from '../storage.js';
import { MemoryTurnBackend } from '../turns/memory-turn-backend.js';
import type { TurnBackend } from '../turns/turn-backend.js';
import { TurnLog } from '../turns/turn-log.js';
import { TurnManager } from '../turns/turn-manager.js';
import type { FetchLike } from '../types.js';
import { approveRoute, elicitationRoute } from './ask-routes.js';
import type { ChatHandler } from './chat-handler.js';
import type { ChatHandlerMcpOptions, ChatHandlerOptions } from './chat-handler-options.js';
import { chatRoute } from './chat-route.js';
import { connectRoute } from './connect-route.js';
import { clearHistoryRoute, conversationsRoute, historyRoute } from './conversation-routes.js';
import { followDisconnects } from './disconnect-broadcast.js';
import type { HandlerContext } from './handler-context.js';
import { type HandlerSettings, resolveHandlerSettings } from './handler-settings.js';
import { errorResponse } from './json-response.js';
import type { LiveSession } from './live-session.js';
import { mcpEndpointPolicy } from './mcp-endpoint-policy.js';
import { RouteTable } from './route-table.js';
import { normalizeAllowedUrl } from './server-url-policy.js';
import { configRoute, disconnectRoute, modelsRoute, statusRoute } from './session-routes.js';
import { createTurnOps } from './turn-ops.js';
import { chatEventsRoute, stopRoute } from './turn-routes.js';
import { usageRoute } from './usage-route.js';

type RouteName =
  | 'connect'
  | 'chat'
  | 'disconnect'
  | 'status'
  | 'config'
  | 'models'
  | 'events'
  | 'stop'
  | 'usage'
  | 'oauthCallback'
  | 'oauthMetadata'
  | 'oauthForget'
  | 'conversations'
  | 'history'
  | 'clear-history'
  | 'approve'
  | 'elicitation';

/** What every request the library sends to an MCP server (or an OAuth server) adds to its options. */
const REFUSE_REDIRECTS: RequestInit = { redirect: 'error', window: null };

const ROUTES = new RouteTable<RouteName>([
  { name: 'connect', method: 'POST', path: '/connect' },
  { name: 'chat', method: 'POST', path: '/chat' },
  { name: 'events', method: 'GET', path: '/chat/events/:user_id', head: false },
  { name: 'stop', method: 'POST', path: '/stop' },
  { name: 'disconnect', method: 'POST', path: '/disconnect' },
  { name: 'status', method: 'GET', path: '/status/:user_id' },
  { name: 'config', method: 'GET', path: '/config/:user_id' },
  { name: 'models', method: 'GET', path: '/gateway/models' },
  { name: 'oauthCallback', method: 'GET', path: '/oauth/callback', head: false },
  { name: 'oauthMetadata', method: 'GET', path: '/oauth/client-metadata.json' },
  { name: 'oauthForget', method: 'DELETE', path: '/oauth/:user_id' },
  { name: 'usage', method: 'GET', path: '/usage/:user_id' },
  { name: 'conversations', method: 'GET', path: '/conversations/:user_id' },
  { name: 'history', method: 'GET', path: '/history/:user_id' },
  { name: 'clear-history', method: 'DELETE', path: '/history/:user_id' },
  { name: 'approve', method: 'POST', path: '/approve' },
  { name: 'elicitation', method: 'POST', path: '/elicitation' },
]);

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
  const storage = ownStorage ?? (options.storage as ChatStorage);
  // A host storage of its own making may lack the turn parts: they then stay in this process.
  const fallbackTurns = storage.turns ? undefined : new MemoryTurnBackend();
  // Without a fetch of the host's, OAuth requests to public host names go over connections that
  // check the addresses the names resolve to (a host's fetch is its own to police).
  const oauthPublicFetch = options.oauth && !options.fetch ? createPublicAddressFetch() : undefined;
  const turnBackend = storage.turns ?? (fallbackTurns as MemoryTurnBackend);
  const context = createContext(options, settings, storage, turnBackend, oauthPublicFetch);
  const basePath = normalizeBasePath(options.basePath);
  const disconnects = followDisconnects(context.bus, context.cache, context.logger);

  const handler: ChatHandler = {
    usage: context.ops.ledger,
    fetch(request: Request): Promise<Response> {
      const answer = route(request);
      return request.method === 'HEAD' ? answer.then(withoutBody) : answer;
    },
    async close(): Promise<void> {
      await disconnects.stop();
      await context.turns.close();
      await context.cache.close();
      await fallbackTurns?.close();
      await ownStorage?.close();
      await oauthPublicFetch?.close();
    },
  };
  return handler;

  async function route(request: Request): Promise<Response> {
    try {
      const pathname = new URL(request.url, 'http://localhost').pathname;
      if (!pathname.startsWith(basePath) && `${pathname}/` !== basePath) {
        throw new LlmChatError('NOT_FOUND', 'Not found.');
      }
      const lookup = ROUTES.match(request.method, pathname.slice(basePath.length - 1));
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
        case 'events':
          return await chatEventsRoute(context, request, param);
        case 'stop':
          return await stopRoute(context, request);
        case 'conversations':
          return await conversationsRoute(context, request, param);
        case 'history':
          return await historyRoute(context, request, param);
        case 'clear-history':
          return await clearHistoryRoute(context, request, param);
        case 'approve':
          return await approveRoute(context, request);
        case 'elicitation':
          return await elicitationRoute(context, request);
      }
    } catch (error) {
      if (!isLlmChatError(error)) {
        context.logger?.error?.('request failed', { error: String(error) });
      }
      return errorResponse(error);
    }
  }
}

/**
 * A HEAD request's answer: the GET's status and headers, no body (a web-standard host may send
 * whatever body a `Response` has). The GET's body is released unread.
 */
function withoutBody(response: Response): Response {
  response.body?.cancel().catch(() => undefined);
  return new Response(null, { status: response.status, statusText: response.statusText, headers: response.headers });
}

function createContext(
  options: ChatHandlerOptions,
  settings: HandlerSettings,
  storage: ChatStorage,
  turnBackend: TurnBackend,
  oauthPublicFetch: PublicAddressFetch | undefined,
): HandlerContext {
  // A storage written before the bus existed still works, for this process alone.
  const bus = storage.bus ?? new MemoryMessageBus();
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
  // An allowed server must not bounce us somewhere the allow-list never named. (With redirects
  // refused and no window, fetch also skips cloning each request and teeing its body.)
  const fetch: FetchLike = (input, init) => baseFetch(input, copyWith(init ?? {}, REFUSE_REDIRECTS));
  const oauth = options.oauth
    ? new OAuthManager({
        options: options.oauth,
        sealKey: options.sealKey,
        storage,
        locks,
        fetch,
        // OAuth endpoints a server names get the same network policy as its own URL.
        allowedUrls,
        ...(oauthPublicFetch ? { publicFetch: oauthPublicFetch } : {}),
        ...(logger ? { logger } : {}),
      })
    : undefined;
  const store = new SessionStore(storage.sessions, {
    sessionTtlMs: settings.sessionTtlMs,
    historyTtlMs: settings.historyTtlMs,
    maxHistoryTurns: settings.maxHistoryTurns,
    ...(options.sealKey === undefined ? {} : { sealKey: options.sealKey }),
    ...(logger ? { logger } : {}),
  });
  const askSettings = resolveAskSettings(options);
  const turns = new TurnManager({
    log: new TurnLog(turnBackend, { retentionMs: settings.turnRetentionMs, maxEvents: settings.maxTurnEvents }),
    bus,
    turnTimeoutMs: settings.turnTimeoutMs,
    ...(logger ? { logger } : {}),
  });
  const conversations = new Conversations(store, storage.conversations ?? new MemoryConversationBackend(), {
    historyTtlMs: settings.historyTtlMs,
    maxConversations: settings.maxConversations,
    ...(logger ? { logger } : {}),
    // A deleted conversation's running turn is stopped (stop waits for its end, on whichever
    // process runs it; one that runs on past the wait does not save itself) and its recorded
    // events go with it.
    onDelete: async (userId, conversationId) => {
      await turns.stop(userId, namedConversation(conversationId), undefined, { deleting: true }).catch(() => undefined);
      await turns.log.forgetLatest(userId, namedConversation(conversationId));
      // Its tools approved "for the rest of the conversation" go with it.
      await storage.sessions.delete([approvedToolsKey(userId, conversationId)]);
    },
  });
  return {
    options,
    settings,
    ops: createTurnOps(options, storage, locks),
    store,
    conversations,
    // Running: its latest turn has not ended, and is younger than the longest a turn may run (a
    // process that died mid-turn never marks its turn ended).
    isConversationRunning: async (userId, conversationId) => {
      const latest = await turns.log.getLatest(userId, namedConversation(conversationId));
      return latest !== null && latest.ended !== true && Date.now() - latest.startedAt < settings.turnTimeoutMs;
    },
    locks,
    slots: new ConversationSlots(locks, settings.maxConcurrentConversations, settings.lockTtlMs),
    turns,
    askSettings,
    asks: new AskBroker(storage.sessions, bus),
    registry,
    cache: new ConnectionCache<LiveSession>({
      idleMs: settings.connectionIdleMs,
      max: settings.maxConnections,
      ...(logger ? { logger } : {}),
    }),
    bus,
    liveDeps: {
      registry,
      providers: new Map(),
      mcp,
      servers: {
        allowedUrls,
        stdioServer: defaultServer?.transport === 'stdio' ? defaultServer : undefined,
      },
      ...(options.systemPrompt === undefined ? {} : { systemPrompt: options.systemPrompt }),
      maxToolRounds: settings.maxToolRounds,
      idleMs: settings.connectionIdleMs,
      listings: new SingleFlight(),
      ...(options.reasoningEvents === undefined ? {} : { reasoningEvents: options.reasoningEvents }),
      ...(options.llm ? { llm: options.llm } : {}),
      ...(options.fetch ? { fetch } : {}),
      ...(oauth ? { oauth } : {}),
      ...(options.serverAuth ? { serverAuth: options.serverAuth } : {}),
      ...(askSettings.elicitation ? { elicitation: { timeoutMs: askSettings.elicitationTimeoutMs } } : {}),
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
