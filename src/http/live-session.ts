import { ChatService } from '../chat/chat-service.js';
import type { LlmProvider } from '../llm/llm-provider.js';
import { LazyToolbox } from '../mcp/lazy-toolbox.js';
import { McpToolbox } from '../mcp/mcp-toolbox.js';
import { type StoredTool, toolsByServer } from '../mcp/stored-tool.js';
import type { ToolSource } from '../mcp/tool-source.js';
import type { SessionConfig } from '../types.js';
import type { ChatUser } from './chat-handler-options.js';
import type { LiveSessionDeps } from './live-session-deps.js';
import { sessionServers, sessionToolboxOptions } from './session-servers.js';

/** A connected session of this process: the MCP connections and the service that uses them. @internal */
export interface LiveSession {
  service: ChatService;
  /** The session's tools: remembered at connect, connected on the first call. */
  toolbox: ToolSource;
  close(): Promise<void>;
}

/**
 * Builds a live session from a stored session: checks its servers against the host's options
 * (`SESSION_INVALID` for a server the host does not allow) and resolves the model (failing before
 * any MCP handshake when it is gone). With the tools remembered at connect, no MCP connection is
 * made here: the toolbox connects on the first tool call and closes again when idle. A record
 * without them (written by an older version) connects and lists the tools now, as before. Any
 * process can do this, which is what frees users from sticky routing.
 * @internal
 */
export async function buildLiveSession(
  deps: LiveSessionDeps,
  stored: { config: SessionConfig; tools?: readonly StoredTool[] },
  request: Request,
  user: ChatUser,
): Promise<LiveSession> {
  const config = stored.config;
  const model = deps.registry.get(config.model);
  const provider = providerOf(deps, model.id);
  const servers = await sessionServers(deps, config, request, user);
  const options = sessionToolboxOptions(deps, user);
  const tools = stored.tools;
  const toolbox: ToolSource = tools
    ? new LazyToolbox({
        tools,
        servers,
        // The tools are known: the connection skips listing them, one round trip fewer.
        open: () => McpToolbox.connect(servers, { ...options, knownTools: toolsByServer(tools, servers.length) }),
        idleMs: deps.idleMs,
        ...(deps.logger ? { logger: deps.logger } : {}),
      })
    : await McpToolbox.connect(servers, options);
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

/** The model's provider, shared by every live session that uses the model (a reconnect builds none). */
function providerOf(deps: LiveSessionDeps, modelId: string): LlmProvider {
  let provider = deps.providers.get(modelId);
  if (provider === undefined) {
    // The host's logger also hears about LLM retries.
    provider = deps.registry.createProvider(modelId, { ...deps.llm, ...(deps.logger ? { logger: deps.logger } : {}) });
    deps.providers.set(modelId, provider);
  }
  return provider;
}
