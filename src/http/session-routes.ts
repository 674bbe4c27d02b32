import { DEFAULT_CONVERSATION_ID } from '../conversations/conversation-id.js';
import { isLlmChatError, LlmChatError } from '../errors.js';
import { disconnectBodySchema, parseBody } from '../schemas.js';
import type { SessionConfig } from '../types.js';
import { announceDisconnect } from './disconnect-broadcast.js';
import { authenticate, type HandlerContext, resolveUserId } from './handler-context.js';
import { jsonResponse } from './json-response.js';
import { maskSecrets, maskUrlSecrets } from './mask-secrets.js';
import { readJsonBody } from './read-json-body.js';

/**
 * `POST /disconnect`: clears the session, its configuration and its history in the shared
 * storage, so it is gone on every process; this process closes its live connection and tells
 * the others to close theirs.
 * Idempotent, never 404.
 * @internal
 */
export async function disconnectRoute(context: HandlerContext, request: Request): Promise<Response> {
  const user = await authenticate(context, request);
  const body = parseBody(disconnectBodySchema, await readJsonBody(request, context.settings.maxBodyBytes));
  const userId = resolveUserId(user, body.user_id);
  const existed = await context.store.deleteSession(userId);
  // The gateway's meaning: the default conversation goes with the session; named ones stay.
  await context.conversations.delete(userId, DEFAULT_CONVERSATION_ID);
  context.cache.evict(userId);
  await announceDisconnect(context.bus, userId, context.logger);
  return jsonResponse(200, {
    status: existed ? 'disconnected' : 'no_active_session',
    user_id: userId,
    message: existed ? 'Successfully disconnected' : 'No active session to disconnect',
  });
}

/** `GET /status/:user_id`: whether the user has a session. @internal */
export async function statusRoute(context: HandlerContext, request: Request, pathUserId: string): Promise<Response> {
  const user = await authenticate(context, request);
  const userId = resolveUserId(user, pathUserId);
  let connected: boolean;
  try {
    connected = (await context.store.getSession(userId)) !== null;
  } catch (error) {
    // A corrupt record is no usable session; storage being down is still an error.
    if (!isLlmChatError(error) || error.code !== 'SESSION_INVALID') throw error;
    connected = false;
  }
  return jsonResponse(200, { user_id: userId, connected });
}

/** `GET /config/:user_id`: the stored configuration in the gateway's shape, secrets masked. @internal */
export async function configRoute(context: HandlerContext, request: Request, pathUserId: string): Promise<Response> {
  const user = await authenticate(context, request);
  const userId = resolveUserId(user, pathUserId);
  const stored = await context.store.getSession(userId);
  if (!stored) throw new LlmChatError('CONFIG_NOT_FOUND', 'No config found for this user.');
  return jsonResponse(200, maskSecrets(toGatewayConfig(context, stored.config)));
}

/** `GET /gateway/models`: the models users may pick, without secrets. @internal */
export async function modelsRoute(context: HandlerContext, request: Request): Promise<Response> {
  await authenticate(context, request);
  const models = context.registry.list();
  return jsonResponse(200, { models, count: models.length });
}

function toGatewayConfig(context: HandlerContext, config: SessionConfig): Record<string, unknown> {
  const [first, ...more] = config.servers;
  const server = (s: NonNullable<typeof first>) => ({
    url: s.url === undefined ? null : maskUrlSecrets(s.url),
    transport: s.transport ?? 'streamable_http',
    ...(s.command ? { command: s.command, args: s.args ?? [] } : {}),
    auth_token: s.authToken ?? null,
    headers: s.headers ?? {},
  });
  const provider = context.registry.has(config.model) ? context.registry.get(config.model).provider : null;
  return {
    mcp_server: first ? server(first) : null,
    ...(more.length > 0 ? { additional_servers: more.map(server) } : {}),
    llm: {
      provider,
      config: { model: config.model, temperature: config.temperature ?? null, max_tokens: config.maxTokens ?? null },
    },
    chat_history_max_messages: context.settings.maxHistoryTurns,
    enable_streaming: config.streaming,
  };
}
