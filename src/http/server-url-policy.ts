import { LlmChatError } from '../errors.js';

const MAX_URL_LENGTH = 2048;

/**
 * Checks a client-supplied MCP server URL against the host's allow-list and returns it
 * normalized. A URL is allowed when, after normalization, it equals or starts with an entry.
 * Credentials in the URL and schemes other than http/https are refused outright, so a client
 * can never make the server reach a host, port or path the host did not list.
 * @internal
 */
export function checkServerUrl(raw: string, allowed: readonly string[]): string {
  const normalized = normalizedHref(raw);
  if (normalized === undefined) throw notAllowed();
  for (const entry of allowed) {
    const prefix = normalizedHref(entry);
    if (prefix !== undefined && isUnder(normalized, prefix)) return normalized;
  }
  throw notAllowed();
}

/**
 * URLs already normalized, by what they were given as: every turn checks its stored servers (the
 * first one of a process builds a live session), and a `new URL` of the server and of each
 * allow-list entry cost 12 µs of it. Bounded, since clients choose what is looked up.
 */
const hrefs = new Map<string, string | undefined>();
const MAX_REMEMBERED_HREFS = 512;
// 512 entries of at most 2,048 characters: 2 MB at worst.

function normalizedHref(raw: string): string | undefined {
  // Never remembered: a client could fill the map with huge strings.
  if (raw.length > MAX_URL_LENGTH) return undefined;
  if (hrefs.has(raw)) return hrefs.get(raw);
  const href = parseHttpUrl(raw)?.href;
  if (hrefs.size >= MAX_REMEMBERED_HREFS) hrefs.clear();
  hrefs.set(raw, href);
  return href;
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
