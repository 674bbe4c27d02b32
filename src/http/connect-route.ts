import { LlmChatError } from '../errors.js';
import { copyWith } from '../internal/copy-with.js';
import { type ConnectBody, connectBodySchema, parseBody } from '../schemas.js';
import type { McpServerConfig, SessionConfig } from '../types.js';
import { authenticate, type HandlerContext, resolveUserId } from './handler-context.js';
import { jsonResponse } from './json-response.js';
import { listSessionTools } from './list-session-tools.js';
import { readJsonBody } from './read-json-body.js';
import { checkServerUrl } from './server-url-policy.js';

/**
 * `POST /connect`: checks the model and the server, connects and lists the tools, and only then
 * replaces the user's session, so a failed reconnect leaves the working session in place. The
 * tools are stored with the session and the MCP connection is closed: an idle user holds no
 * socket or MCP session, and a turn connects on its first tool call.
 * @internal
 */
export async function connectRoute(context: HandlerContext, request: Request): Promise<Response> {
  const user = await authenticate(context, request);
  const body = parseBody(connectBodySchema, await readJsonBody(request, context.settings.maxBodyBytes));
  const userId = resolveUserId(user, body.user_id);
  const model = context.registry.get(body.llm.model);
  const server = chooseServer(context, body.server);
  const config: SessionConfig = { servers: [server], model: model.id, streaming: body.streaming ?? false };
  if (body.llm.temperature != null) config.temperature = body.llm.temperature;
  if (body.llm.max_tokens != null) config.maxTokens = body.llm.max_tokens;

  const listed = await listSessionTools(context.liveDeps, config, request, user);
  await context.store.createSession(userId, config, { tools: listed });
  // A new connection starts a new conversation, as in the gateway: its list entry goes too.
  await context.conversations.restartDefault(userId);
  // This process's live session of the old version goes now; other processes see the new version.
  context.cache.evict(userId);
  const tools = listed.map((tool) => tool.name);
  return jsonResponse(200, {
    status: 'connected',
    user_id: userId,
    provider: model.provider,
    tool_count: tools.length,
    tools,
  });
}

function chooseServer(context: HandlerContext, input: ConnectBody['server']): McpServerConfig {
  if (input?.transport === 'stdio') {
    throw new LlmChatError('SERVER_NOT_ALLOWED', 'stdio servers can only be configured by the host.');
  }
  const token = input?.auth_token || undefined;
  if (!input?.url) {
    if (!context.defaultServer) {
      throw new LlmChatError('SERVER_NOT_ALLOWED', 'No server URL given and no default server is configured.');
    }
    return token ? copyWith(context.defaultServer, { authToken: token }) : context.defaultServer;
  }
  const url = checkServerUrl(input.url, context.allowedUrls);
  // The host's own settings (headers, token) for its default server apply when a client names it.
  const base = context.defaultServer?.url === url ? context.defaultServer : undefined;
  const server: McpServerConfig = copyWith(base ?? {}, {
    url,
    transport: input.transport === 'sse' ? 'sse' : 'streamable_http',
  });
  if (token) server.authToken = token;
  return server;
}
