import { ChatService } from '../chat/chat-service.js';
import type { LlmProviderOptions } from '../llm/llm-provider.js';
import type { ModelRegistry } from '../llm/model-registry.js';
import { McpToolbox } from '../mcp/mcp-toolbox.js';
import type { OAuthManager } from '../oauth/oauth-manager.js';
import type { FetchLike, Logger, McpServerConfig, SessionConfig } from '../types.js';
import type { ChatHandlerMcpOptions, ChatUser, ServerAuthContext } from './chat-handler-options.js';
import { checkStoredServers, type ServerPolicy } from './stored-server-policy.js';

/** A connected session of this process: the MCP connections and the service that uses them. @internal */
export interface LiveSession {
  service: ChatService;
  toolbox: McpToolbox;
  close(): Promise<void>;
}

/** What {@link buildLiveSession} needs from the handler. @internal */
export interface LiveSessionDeps {
  registry: ModelRegistry;
  mcp: ChatHandlerMcpOptions;
  /** What the host allows to be spawned or contacted, decided from its options alone. */
  servers: ServerPolicy;
  systemPrompt?: string;
  maxToolRounds?: number;
  reasoningEvents?: boolean;
  llm?: LlmProviderOptions;
  fetch: FetchLike;
  serverAuth?: (
    context: ServerAuthContext,
  ) => Record<string, string> | undefined | Promise<Record<string, string> | undefined>;
  logger?: Logger;
  /** Hands each HTTP MCP server its OAuth provider, when OAuth is on. */
  oauth?: OAuthManager;
  /** Decides URLs an MCP server sends us to (legacy-SSE endpoint, redirect). */
  isMcpUrlAllowed?: (url: string, server: Readonly<McpServerConfig>) => boolean;
  /** Whether servers may ask the user for input (elicitation), and for how long. */
  elicitation?: { timeoutMs: number };
}

/**
 * Builds a live session from a stored configuration: checks its servers against the host's
 * options (`SESSION_INVALID` for a server the host does not allow), resolves the model (failing
 * before any MCP handshake when it is gone), adds host-supplied server headers, connects the MCP
 * servers and lists their tools. Any process can do this, which is what frees users from sticky routing.
 * @internal
 */
export async function buildLiveSession(
  deps: LiveSessionDeps,
  config: SessionConfig,
  request: Request,
  user: ChatUser,
): Promise<LiveSession> {
  const model = deps.registry.get(config.model);
  // The host's logger also hears about LLM retries.
  const provider = deps.registry.createProvider(model.id, {
    ...deps.llm,
    ...(deps.logger ? { logger: deps.logger } : {}),
  });
  // The configuration may come from storage, which does not decide what runs or is contacted.
  const allowed = checkStoredServers(config.servers, deps.servers);
  const servers = await Promise.all(allowed.map((server) => withServerAuth(deps, server, request, user)));
  const toolbox = await McpToolbox.connect(servers, {
    ...(deps.mcp.toolTimeoutMs === undefined ? {} : { toolTimeoutMs: deps.mcp.toolTimeoutMs }),
    ...(deps.mcp.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: deps.mcp.connectTimeoutMs }),
    ...(deps.mcp.maxResultChars === undefined ? {} : { maxResultChars: deps.mcp.maxResultChars }),
    ...(deps.mcp.maxImageBytes === undefined ? {} : { maxImageBytes: deps.mcp.maxImageBytes }),
    ...(deps.mcp.maxMessageBytes === undefined ? {} : { maxMessageBytes: deps.mcp.maxMessageBytes }),
    ...(deps.mcp.maxToolsPerServer === undefined ? {} : { maxToolsPerServer: deps.mcp.maxToolsPerServer }),
    ...(deps.mcp.maxToolSchemaChars === undefined ? {} : { maxToolSchemaChars: deps.mcp.maxToolSchemaChars }),
    ...(deps.isMcpUrlAllowed ? { isUrlAllowed: deps.isMcpUrlAllowed } : {}),
    // Only the host's own stdio server may be spawned, and checkStoredServers made sure of it.
    allowStdio: deps.servers.stdioServer !== undefined,
    fetch: deps.fetch,
    ...(deps.oauth ? { oauthFor: (server: McpServerConfig) => deps.oauth?.connectionFor(user.id, server) } : {}),
    ...(deps.elicitation ? { elicitation: true, elicitationTimeoutMs: deps.elicitation.timeoutMs } : {}),
    ...(deps.logger ? { logger: deps.logger } : {}),
  });
  const temperature = config.temperature ?? model.temperature;
  const maxTokens = config.maxTokens ?? model.maxTokens;
  const service = new ChatService({
    provider,
    model: model.model,
    tools: toolbox,
    contextWindow: model.contextWindow,
    supportsVision: model.supportsVision,
    ...(temperature === undefined ? {} : { temperature }),
    ...(maxTokens === undefined ? {} : { maxTokens }),
    ...(deps.systemPrompt === undefined ? {} : { systemPrompt: deps.systemPrompt }),
    ...(deps.maxToolRounds === undefined ? {} : { maxToolRounds: deps.maxToolRounds }),
    ...(deps.reasoningEvents === undefined ? {} : { emitReasoning: deps.reasoningEvents }),
    ...(deps.logger ? { logger: deps.logger } : {}),
  });
  return { service, toolbox, close: () => toolbox.close() };
}

async function withServerAuth(
  deps: LiveSessionDeps,
  server: McpServerConfig,
  request: Request,
  user: ChatUser,
): Promise<McpServerConfig> {
  if (!deps.serverAuth) return server;
  const headers = await deps.serverAuth({ request, user, server });
  return headers ? { ...server, headers: { ...server.headers, ...headers } } : server;
}
