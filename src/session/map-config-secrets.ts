import { copyWith } from '../internal/copy-with.js';
import type { McpServerConfig, SessionConfig } from '../types.js';

/**
 * A copy of `config` with every secret string passed through `map`: each server's `authToken`
 * and the values of its `headers` and `env`. Used to seal secrets before storing a configuration
 * and to open them after reading it back.
 * @internal
 */
export function mapConfigSecrets(config: SessionConfig, map: (secret: string) => string): SessionConfig {
  return copyWith(config, { servers: config.servers.map((server) => mapServer(server, map)) });
}

function mapServer(server: McpServerConfig, map: (secret: string) => string): McpServerConfig {
  // Not a spread copy: it gains properties below (see `copyWith`).
  const copy: McpServerConfig = Object.assign({}, server);
  if (server.authToken !== undefined) copy.authToken = map(server.authToken);
  if (server.headers !== undefined) copy.headers = mapValues(server.headers, map);
  if (server.env !== undefined) copy.env = mapValues(server.env, map);
  return copy;
}

function mapValues(record: Record<string, string>, map: (value: string) => string): Record<string, string> {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key, map(value)]));
}
