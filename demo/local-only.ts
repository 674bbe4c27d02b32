import { isIP } from 'node:net';

/**
 * Whether a request reached a server on this machine the way a page on this machine sends it,
 * and not through DNS rebinding: a page at `http://evil.example:3000/` whose name the attacker
 * then points at 127.0.0.1 is same-origin with itself, so the browser sends its requests (with
 * the demo user id, so with the operator's API key and tools) to the local server, but with
 * `Host: evil.example:3000`. Only the loopback names (and `extraHosts`) with the server's `port`
 * pass; a request that is not GET or HEAD must also come from one of those origins when it says
 * where it comes from (`Origin`). The demo MCP server does the same with the SDK's
 * `enableDnsRebindingProtection`.
 *
 * @param extraHosts further names the server is reached by (the `HOST` it listens on).
 */
export function isLocalRequest(
  request: { method?: string | undefined; host?: string | null | undefined; origin?: string | null | undefined },
  port: number,
  extraHosts: readonly string[] = [],
): boolean {
  const allowed = new Set<string>();
  for (const name of ['localhost', '127.0.0.1', '[::1]', ...extraHosts]) {
    const host = isIP(name) === 6 ? `[${name}]` : name.toLowerCase();
    allowed.add(`${host}:${port}`);
    if (port === 80) allowed.add(host); // browsers leave the default port out
  }
  if (!request.host || !allowed.has(request.host.toLowerCase())) return false;
  const method = (request.method ?? 'GET').toUpperCase();
  if (method === 'GET' || method === 'HEAD' || !request.origin) return true;
  return [...allowed].some((host) => request.origin?.toLowerCase() === `http://${host}`);
}

/** {@link isLocalRequest} for a web `Request`, as `authenticate` gets it. */
export function isLocalWebRequest(request: Request, port: number, extraHosts: readonly string[] = []): boolean {
  return isLocalRequest(
    { method: request.method, host: request.headers.get('host'), origin: request.headers.get('origin') },
    port,
    extraHosts,
  );
}
