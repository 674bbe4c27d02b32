import { copyWith } from '../internal/copy-with.js';
import type { McpToolboxOptions } from '../mcp/mcp-toolbox.js';
import type { McpServerConfig, SessionConfig } from '../types.js';
import type { ChatUser } from './chat-handler-options.js';
import type { LiveSessionDeps } from './live-session-deps.js';
import { checkStoredServers } from './stored-server-policy.js';

/**
 * The servers of a session as they are contacted: checked against the host's options
 * (`SESSION_INVALID` for a server the host does not allow; the configuration may come from
 * storage, which does not decide what runs or is contacted), with host-supplied headers added.
 * @internal
 */
export async function sessionServers(
  deps: LiveSessionDeps,
  config: SessionConfig,
  request: Request,
  user: ChatUser,
): Promise<McpServerConfig[]> {
  const allowed = checkStoredServers(config.servers, deps.servers);
  return Promise.all(allowed.map((server) => withServerAuth(deps, server, request, user)));
}

/** The toolbox options of one user's MCP connections, from the host's options. @internal */
export function sessionToolboxOptions(deps: LiveSessionDeps, user: ChatUser): McpToolboxOptions {
  const mcp = deps.mcp;
  // The plain properties first: see `copyWith` for what a literal that starts with a spread costs on Node 20.
  return {
    // Only the host's own stdio server may be spawned, and checkStoredServers made sure of it.
    allowStdio: deps.servers.stdioServer !== undefined,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
    ...(mcp.toolTimeoutMs === undefined ? {} : { toolTimeoutMs: mcp.toolTimeoutMs }),
    ...(mcp.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: mcp.connectTimeoutMs }),
    ...(mcp.maxResultChars === undefined ? {} : { maxResultChars: mcp.maxResultChars }),
    ...(mcp.maxImageBytes === undefined ? {} : { maxImageBytes: mcp.maxImageBytes }),
    ...(mcp.maxMessageBytes === undefined ? {} : { maxMessageBytes: mcp.maxMessageBytes }),
    ...(mcp.maxToolsPerServer === undefined ? {} : { maxToolsPerServer: mcp.maxToolsPerServer }),
    ...(mcp.maxToolSchemaChars === undefined ? {} : { maxToolSchemaChars: mcp.maxToolSchemaChars }),
    ...(deps.isMcpUrlAllowed ? { isUrlAllowed: deps.isMcpUrlAllowed } : {}),
    ...(deps.oauth ? { oauthFor: (server: McpServerConfig) => deps.oauth?.connectionFor(user.id, server) } : {}),
    ...(deps.elicitation ? { elicitation: true, elicitationTimeoutMs: deps.elicitation.timeoutMs } : {}),
    ...(deps.logger ? { logger: deps.logger } : {}),
  };
}

async function withServerAuth(
  deps: LiveSessionDeps,
  server: McpServerConfig,
  request: Request,
  user: ChatUser,
): Promise<McpServerConfig> {
  if (!deps.serverAuth) return server;
  const headers = await deps.serverAuth({ request, user, server });
  return headers ? copyWith(server, { headers: copyWith(server.headers ?? {}, headers) }) : server;
}
