import { copyWith } from '../internal/copy-with.js';
import { McpToolbox } from '../mcp/mcp-toolbox.js';
import { fitStoredTools, type StoredTool } from '../mcp/stored-tool.js';
import type { SessionConfig } from '../types.js';
import type { ChatUser } from './chat-handler-options.js';
import type { LiveSessionDeps } from './live-session-deps.js';
import { sessionServers, sessionToolboxOptions } from './session-servers.js';

/**
 * Connects the session's MCP servers, lists their tools and closes the connections again: what
 * `/connect` remembers with the session, so a connected user holds no MCP session while idle.
 * Rejects like `McpToolbox.connect` (`MCP_UNAVAILABLE`, `MCP_AUTHORIZATION_REQUIRED`,
 * `SERVER_NOT_ALLOWED`, …). A list too big to keep keeps its first tools, with a `warn`.
 * @internal
 */
export async function listSessionTools(
  deps: LiveSessionDeps,
  config: SessionConfig,
  request: Request,
  user: ChatUser,
): Promise<StoredTool[]> {
  const servers = await sessionServers(deps, config, request, user);
  // Closed as soon as the tools are listed: no event stream for the servers' own messages.
  const options = copyWith(sessionToolboxOptions(deps, user), { serverStream: false });
  const toolbox = await McpToolbox.connect(servers, options);
  let listed: StoredTool[];
  try {
    listed = toolbox.storedTools();
  } finally {
    await toolbox.close();
  }
  const fitted = fitStoredTools(listed);
  if (fitted.dropped > 0) {
    deps.logger?.warn?.('The MCP tool list is too big to keep with the session; some tools were left out', {
      kept: fitted.tools.length,
      dropped: fitted.dropped,
    });
  }
  return fitted.tools;
}
