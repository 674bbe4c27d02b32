import { copyWith } from '../internal/copy-with.js';
import { McpToolbox } from '../mcp/mcp-toolbox.js';
import { fitStoredTools, type StoredTool } from '../mcp/stored-tool.js';
import type { McpServerConfig, SessionConfig } from '../types.js';
import type { ChatUser } from './chat-handler-options.js';
import type { LiveSessionDeps } from './live-session-deps.js';
import { sessionServers, sessionToolboxOptions } from './session-servers.js';

/**
 * Connects the session's MCP servers, lists their tools and closes the connections again: what
 * `/connect` remembers with the session, so a connected user holds no MCP session while idle.
 * Rejects like `McpToolbox.connect` (`MCP_UNAVAILABLE`, `MCP_AUTHORIZATION_REQUIRED`,
 * `SERVER_NOT_ALLOWED`, …). A list too big to keep keeps its first tools, with a `warn`.
 *
 * Users who connect while a listing of exactly the same servers (URL, transport, headers and
 * token, after `serverAuth`) runs share it instead of opening MCP sessions of their own: a burst
 * of reconnects (a deploy, a restart) to a shared server lists its tools once. Nothing is kept
 * once the listing ends; connections whose credentials differ, and OAuth connections (each
 * user's own), never share. The array is shared too: read it, never change it.
 * @internal
 */
export async function listSessionTools(
  deps: LiveSessionDeps,
  config: SessionConfig,
  request: Request,
  user: ChatUser,
): Promise<readonly StoredTool[]> {
  const servers = await sessionServers(deps, config, request, user);
  if (deps.oauth) return listTools(deps, servers, user);
  return deps.listings.run(listingKey(servers), () => listTools(deps, servers, user));
}

/**
 * The servers as they are contacted, secrets included: the key lives in this process's memory
 * only, while the listing runs, as the configurations themselves do. Header values are keyed as
 * strings: JSON would drop an `undefined` or empty an object that an untyped host hook put there,
 * and two configurations whose headers differ must never share a key, whatever their transport
 * then makes of them.
 */
function listingKey(servers: readonly McpServerConfig[]): string {
  return JSON.stringify(
    servers.map((server) =>
      server.headers === undefined
        ? server
        : copyWith(server, {
            headers: Object.fromEntries(Object.entries(server.headers).map(([name, value]) => [name, String(value)])),
          }),
    ),
  );
}

async function listTools(deps: LiveSessionDeps, servers: McpServerConfig[], user: ChatUser): Promise<StoredTool[]> {
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
