// `scheme://`: a request target in absolute form (RFC 9112 §3.2.2), as a proxy-minded client sends.
const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

/**
 * The path and query of a request target. A server must accept the absolute form
 * (`GET http://host/llmchat/status/ann`): Node passes it through as `req.url`, and Express keeps
 * its scheme and authority when it strips a mount path. Its own authority is dropped (the Host
 * header names the host, as for any request); the path is kept as sent.
 * @internal
 */
export function pathOfTarget(target: string): string {
  if (target.startsWith('/')) return target;
  if (ABSOLUTE_FORM.test(target)) {
    const authorityEnd = target.slice(target.indexOf('//') + 2).search(/[/?#]/);
    if (authorityEnd === -1) return '/';
    const rest = target.slice(target.indexOf('//') + 2 + authorityEnd);
    return rest.startsWith('/') ? rest : `/${rest}`;
  }
  return `/${target}`;
}
