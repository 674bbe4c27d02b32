import { isLlmChatError, LlmChatError } from '../errors.js';
import { copyWith } from '../internal/copy-with.js';
import type { McpServerConfig } from '../types.js';
import { checkServerUrl } from './server-url-policy.js';

/** What the host allows, from its own options only. @internal */
export interface ServerPolicy {
  /** Normalized `mcp.allowedUrls`, plus the default server's URL. */
  allowedUrls: readonly string[];
  /** The host's default server, when it is a stdio one: the only program that may be spawned. */
  stdioServer: McpServerConfig | undefined;
}

const INVALID_MESSAGE = 'The stored session is invalid. Please reconnect.';

/**
 * Checks servers read from storage against the host's options, at every use: storage is not
 * trusted to say what may be spawned or contacted (anyone who can write to it could otherwise
 * run a program, or reach a URL the allow-list never named). A stdio server must be the host's
 * own, command, arguments and environment alike, and is rebuilt from the host's configuration;
 * an HTTP server's URL must pass the allow-list.
 * @throws LlmChatError `SESSION_INVALID` when a server fails.
 * @internal
 */
export function checkStoredServers(servers: readonly McpServerConfig[], policy: ServerPolicy): McpServerConfig[] {
  return servers.map((server) => {
    if (server.transport === 'stdio') {
      const own = policy.stdioServer;
      if (own === undefined || !sameProgram(server, own)) throw invalid('a stdio server the host did not configure');
      return copyWith(server, { command: own.command, args: own.args, env: own.env }) as McpServerConfig;
    }
    if (server.command !== undefined || server.args !== undefined || server.env !== undefined) {
      throw invalid('program settings on an HTTP server');
    }
    try {
      return copyWith(server, { url: checkServerUrl(server.url ?? '', policy.allowedUrls) });
    } catch (error) {
      if (isLlmChatError(error) && error.code === 'SERVER_NOT_ALLOWED')
        throw invalid('a server URL outside the allow-list');
      throw error;
    }
  });
}

function sameProgram(stored: McpServerConfig, own: McpServerConfig): boolean {
  return (
    stored.command === own.command &&
    canonical(stored.args ?? []) === canonical(own.args ?? []) &&
    canonical(stored.env ?? {}) === canonical(own.env ?? {})
  );
}

// Arrays keep their order; object keys do not matter.
function canonical(value: readonly string[] | Record<string, string>): string {
  return JSON.stringify(Array.isArray(value) ? value : Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1)));
}

function invalid(reason: string): LlmChatError {
  return new LlmChatError('SESSION_INVALID', INVALID_MESSAGE, { details: { reason } });
}
