import { isLlmChatError, LlmChatError } from '../errors.js';
import { authenticate, type HandlerContext, resolveUserId } from '../http/handler-context.js';
import { jsonResponse } from '../http/json-response.js';
import type { OAuthManager } from './oauth-manager.js';

/**
 * `GET /oauth/callback`: where authorization servers send the user's browser back. The caller
 * must be the user who started the authorization (the host's `authenticate` sees the browser's
 * own session); the code is exchanged and the tokens stored, then the browser goes to the host's
 * return URL, or reads a short page saying the window can be closed. A failure goes to the
 * return URL too, as `?oauth=error&code=<CODE>` (a browser tab has no use for a JSON body), or
 * is the usual JSON error without one.
 * @internal
 */
export async function oauthCallbackRoute(context: HandlerContext, request: Request): Promise<Response> {
  const oauth = requireOAuth(context);
  const returnUrl = oauth.returnUrl;
  let serverUrl: string;
  try {
    const user = await authenticate(context, request);
    const query = new URL(request.url, 'http://localhost').searchParams;
    serverUrl = await oauth.completeAuthorization(user.id, query);
    // The next connection of this user must use the new tokens, not a connection built without them.
    context.cache.evict(user.id);
  } catch (error) {
    if (!returnUrl || !isLlmChatError(error)) throw error;
    return redirectTo(returnUrl, { oauth: 'error', code: error.code });
  }
  if (returnUrl) return redirectTo(returnUrl, { oauth: 'connected', server: serverUrl });
  return new Response(DONE_PAGE, {
    status: 200,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'content-security-policy': "default-src 'none'",
    },
  });
}

/**
 * `DELETE /oauth/:user_id?server=<url>`: forgets the user's tokens for that MCP server.
 * 200 `{ status: "forgotten" | "not_found", user_id, server }`.
 * @internal
 */
export async function oauthForgetRoute(context: HandlerContext, request: Request, pathUserId: string) {
  const oauth = requireOAuth(context);
  const user = await authenticate(context, request);
  const userId = resolveUserId(user, pathUserId);
  const raw = new URL(request.url, 'http://localhost').searchParams.get('server');
  let server: string;
  try {
    server = new URL(raw ?? '').href;
  } catch {
    throw new LlmChatError('VALIDATION_FAILED', 'server: a server URL is required.');
  }
  const forgotten = await oauth.forget(userId, server);
  context.cache.evict(userId);
  return jsonResponse(200, { status: forgotten ? 'forgotten' : 'not_found', user_id: userId, server });
}

/**
 * `GET /oauth/client-metadata.json`: this application's OAuth client ID metadata document. The
 * host makes it reachable at `oauth.clientMetadataUrl`; authorization servers fetch it, so it
 * needs no authentication and holds nothing secret.
 * @internal
 */
export function oauthClientMetadataRoute(context: HandlerContext): Response {
  return jsonResponse(200, requireOAuth(context).clientMetadataDocument(), { 'cache-control': 'public, max-age=300' });
}

function redirectTo(base: string, params: Record<string, string>): Response {
  const target = new URL(base);
  for (const [name, value] of Object.entries(params)) target.searchParams.set(name, value);
  return new Response(null, { status: 302, headers: { location: target.href, 'cache-control': 'no-store' } });
}

function requireOAuth(context: HandlerContext): OAuthManager {
  if (!context.oauth) throw new LlmChatError('NOT_FOUND', 'Not found.');
  return context.oauth;
}

const DONE_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Authorized</title></head>
<body><p>Authorization complete. You can close this window and connect again.</p></body></html>
`;
