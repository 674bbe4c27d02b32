import type { McpServerConfig } from '../types.js';
import { checkServerUrl } from './server-url-policy.js';

/**
 * The `isUrlAllowed` the handler gives its MCP toolboxes: a URL an MCP server sends us to (the
 * message endpoint of a legacy-SSE server, a redirect) must be under `mcp.allowedUrls` like any
 * server URL, so a server cannot have our POSTs, with the user's Authorization header, delivered
 * to a path the host never allowed. The host's own `defaultServer` is trusted with its whole
 * origin, since the host wrote its URL (a legacy server at `/sse` usually names `/messages`).
 * @internal
 */
export function mcpEndpointPolicy(
  allowedUrls: readonly string[],
  defaultServer: McpServerConfig | undefined,
): (url: string, server: Readonly<McpServerConfig>) => boolean {
  const defaultOrigin = defaultServer?.url ? originOf(defaultServer.url) : undefined;
  return (url, server) => {
    if (defaultOrigin !== undefined && server.url === defaultServer?.url && originOf(url) === defaultOrigin)
      return true;
    try {
      checkServerUrl(url, allowedUrls);
      return true;
    } catch {
      return false;
    }
  };
}

function originOf(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}
