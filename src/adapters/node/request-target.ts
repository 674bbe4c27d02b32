// A request target in absolute form (RFC 9112 §3.2.2): `scheme://authority`, then the path and
// query (group 1), as a proxy-minded client sends it.
const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*(.*)$/s;

/**
 * The path and query of a request target. A server must accept the absolute form
 * (`GET http://host/llmchat/status/ann`): Node passes it through as `req.url`, and Express keeps
 * its scheme and authority when it strips a mount path. Its own authority is dropped (the Host
 * header names the host, as for any request); the path is kept as sent.
 * @internal
 */
export function pathOfTarget(target: string): string {
  if (target.startsWith('/')) return target;
  const rest = ABSOLUTE_FORM.exec(target)?.[1] ?? target;
  return rest.startsWith('/') ? rest : `/${rest}`;
}
