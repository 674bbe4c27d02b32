import type { SingleFlight } from '../internal/single-flight.js';
import type { LlmProvider, LlmProviderOptions } from '../llm/llm-provider.js';
import type { ModelRegistry } from '../llm/model-registry.js';
import type { StoredTool } from '../mcp/stored-tool.js';
import type { OAuthManager } from '../oauth/oauth-manager.js';
import type { FetchLike, Logger, McpServerConfig } from '../types.js';
import type { ChatHandlerMcpOptions, ServerAuthContext } from './chat-handler-options.js';
import type { ServerPolicy } from './stored-server-policy.js';

/** What `buildLiveSession` and `listSessionTools` need from the handler. @internal */
export interface LiveSessionDeps {
  registry: ModelRegistry;
  /** Each model's provider, made once: a provider keeps nothing of a session or a user. */
  providers: Map<string, LlmProvider>;
  mcp: ChatHandlerMcpOptions;
  /** What the host allows to be spawned or contacted, decided from its options alone. */
  servers: ServerPolicy;
  systemPrompt?: string;
  maxToolRounds?: number;
  reasoningEvents?: boolean;
  llm?: LlmProviderOptions;
  /**
   * The host's `fetch` (redirects refused), when it gave one; without it the MCP exchanges go over
   * the library's own transport, which refuses redirects too.
   */
  fetch?: FetchLike;
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
  /** A live MCP connection with no tool call running for this long is closed. */
  idleMs: number;
  /** The tool listings of `/connect` running now, shared by users who connect to the same servers meanwhile. */
  listings: SingleFlight<readonly StoredTool[]>;
}
