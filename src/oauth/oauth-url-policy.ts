import { LlmChatError } from '../errors.js';
import { checkServerUrl } from '../http/server-url-policy.js';
import { networkClassOf } from '../internal/network-class.js';
import type { FetchLike } from '../types.js';
import type { PublicAddressFetch } from './public-address-fetch.js';

/**
 * Whether the library may send an OAuth request (protected resource or authorization server
 * metadata, registration, token endpoint) to `raw` on behalf of the MCP server at `serverUrl`.
 * Those URLs come from the MCP server and the authorization server it names, so a hostile server
 * could point them at the host's internal network; they get the host's MCP server policy,
 * stretched only as far as the server already stands:
 * - an http(s) URL without credentials, and
 * - under `allowedUrls` (the host allows that URL for an MCP server: the host's opt-in), or
 * - on the MCP server's own origin (its resource metadata, a legacy authorization server), or
 * - https on a public host (a DNS name other than `localhost`, or a public IP address), or
 * - on the same kind of non-public network as the MCP server (a loopback server may use a
 *   loopback authorization server, a private one a private one), over https or the server's
 *   own scheme.
 * So a host that allowed only public MCP servers never has OAuth requests sent to loopback,
 * private or link-local addresses, nor over plain http to another origin. DNS names are not
 * resolved here: {@link guardOAuthFetch} sends a URL allowed only for its public host to a
 * {@link PublicAddressFetch}, which checks the addresses at connection time; with a host's
 * `fetch` instead, a public name that resolves to a private address is that `fetch`'s to refuse.
 * @internal
 */
export function isOAuthUrlAllowed(raw: string, serverUrl: string, allowedUrls: readonly string[]): boolean {
  return oauthUrlStanding(raw, serverUrl, allowedUrls) !== undefined;
}

/**
 * `fetch` for the OAuth requests made on behalf of the MCP server at `serverUrl`: a URL that
 * {@link isOAuthUrlAllowed} refuses is never requested, the call fails with `SERVER_NOT_ALLOWED`.
 * With `publicFetch` (the host gave no `fetch`), a URL allowed only because its host is public
 * goes through it, so that a name resolving to a non-public address (of another kind than the
 * MCP server's) is refused too; URLs the host allowed, or on the server's own origin, or on a
 * literal non-public address, keep going through `fetch`.
 * @internal
 */
export function guardOAuthFetch(
  fetch: FetchLike,
  serverUrl: string,
  allowedUrls: readonly string[],
  publicFetch?: PublicAddressFetch,
): FetchLike {
  const server = parseHttpUrl(serverUrl);
  // Without a server URL every request is refused, so no request ever reaches `checked`.
  const checked = server ? publicFetch?.forServer(networkClassOf(server.hostname)) : undefined;
  return (input, init) => {
    const raw = typeof input === 'string' ? input : input.href;
    const standing = oauthUrlStanding(raw, serverUrl, allowedUrls);
    if (standing === undefined) return Promise.reject(refused());
    return standing === 'public-host' && checked ? checked(input, init) : fetch(input, init);
  };
}

/**
 * Why an OAuth URL is allowed: `'public-host'` when only because its host reads as public (a DNS
 * name, or a public literal address), `'granted'` for any other reason; undefined when refused.
 */
function oauthUrlStanding(
  raw: string,
  serverUrl: string,
  allowedUrls: readonly string[],
): 'granted' | 'public-host' | undefined {
  const url = parseHttpUrl(raw);
  const server = parseHttpUrl(serverUrl);
  if (!url || !server) return undefined;
  if (isUnderAllowList(url.href, allowedUrls) || url.origin === server.origin) return 'granted';
  const network = networkClassOf(url.hostname);
  if (network === 'public') return url.protocol === 'https:' ? 'public-host' : undefined;
  const sameScheme = url.protocol === 'https:' || url.protocol === server.protocol;
  return sameScheme && network === networkClassOf(server.hostname) ? 'granted' : undefined;
}

function isUnderAllowList(url: string, allowedUrls: readonly string[]): boolean {
  try {
    checkServerUrl(url, allowedUrls);
    return true;
  } catch {
    return false;
  }
}

function parseHttpUrl(raw: string): URL | undefined {
  try {
    const url = new URL(raw);
    const http = url.protocol === 'http:' || url.protocol === 'https:';
    return http && !url.username && !url.password ? url : undefined;
  } catch {
    return undefined;
  }
}

// The URL stays out of the message: it may carry the server's query parameters.
function refused(): LlmChatError {
  return new LlmChatError(
    'SERVER_NOT_ALLOWED',
    'The MCP server named an OAuth endpoint that is not allowed (plain http, or a private network address).',
  );
}
