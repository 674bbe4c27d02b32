import { LlmChatError } from '../errors.js';

const MAX_URL_LENGTH = 2048;

/**
 * Checks a client-supplied MCP server URL against the host's allow-list and returns it
 * normalized. A URL is allowed when, after normalization, it equals or starts with an entry.
 * Credentials in the URL and schemes other than http/https are refused outright, so a client
 * can never make the server reach a host, port or path the host did not list. `allowed` holds
 * entries from {@link normalizeAllowedUrl} (the handler normalizes its list once, at start-up):
 * they are compared as they are, not parsed again on every check.
 * @internal
 */
export function checkServerUrl(raw: string, allowed: readonly string[]): string {
  const normalized = parseHttpUrl(raw)?.href;
  if (normalized === undefined) throw notAllowed();
  for (const prefix of allowed) if (isUnder(normalized, prefix)) return normalized;
  throw notAllowed();
}

/**
 * Normalizes an allow-list entry, failing loudly on a bad one at startup.
 * @internal
 */
export function normalizeAllowedUrl(entry: string): string {
  const url = parseHttpUrl(entry);
  if (!url) throw new LlmChatError('CONFIG_INVALID', 'mcp.allowedUrls holds an entry that is not an http(s) URL.');
  return url.href;
}

function parseHttpUrl(raw: string): URL | null {
  if (raw.length > MAX_URL_LENGTH || /[\s\\]/.test(raw)) return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  if (url.username || url.password) return null;
  url.hash = '';
  return url;
}

// A prefix ending in "/" matches paths below it; one that does not must match a whole segment
// or the query, so "http://h/mcp" allows "http://h/mcp" and "http://h/mcp/x" but not "http://h/mcpx".
function isUnder(url: string, prefix: string): boolean {
  if (url === prefix) return true;
  if (!url.startsWith(prefix)) return false;
  if (prefix.endsWith('/')) return true;
  const next = url.charAt(prefix.length);
  return next === '/' || next === '?';
}

function notAllowed(): LlmChatError {
  return new LlmChatError('SERVER_NOT_ALLOWED', 'Invalid server URL: it is not an allowed MCP server.');
}
