import type { AskSettings } from '../approval/ask-settings.js';
import type { AskBroker } from '../asks/ask-broker.js';
import type { MessageBus } from '../bus/message-bus.js';
import type { ConnectionCache } from '../chat/connection-cache.js';
import type { ConversationSlots } from '../conversations/conversation-slots.js';
import type { Conversations } from '../conversations/conversations.js';
import { isLlmChatError, LlmChatError } from '../errors.js';
import { isWellFormedJson } from '../internal/well-formed.js';
import type { ModelRegistry } from '../llm/model-registry.js';
import type { LockManager } from '../lock/lock-manager.js';
import type { OAuthManager } from '../oauth/oauth-manager.js';
import type { SessionStore, StoredSession } from '../session/session-store.js';
import type { TurnManager } from '../turns/turn-manager.js';
import type { Logger, McpServerConfig } from '../types.js';
import type { ChatHandlerOptions, ChatUser } from './chat-handler-options.js';
import type { HandlerSettings } from './handler-settings.js';
import { buildLiveSession, type LiveSession } from './live-session.js';
import type { LiveSessionDeps } from './live-session-deps.js';
import type { TurnOps } from './turn-ops.js';

/** Everything the routes share, built once by `createChatHandler`. @internal */
export interface HandlerContext {
  options: ChatHandlerOptions;
  /** Telemetry, usage accounting and limits of turns. */
  ops: TurnOps;
  /** The options with their defaults applied, validated at start-up. */
  settings: HandlerSettings;
  store: SessionStore;
  locks: LockManager;
  /** The cap on a user's conversations running at once (`maxConcurrentConversations`). */
  slots: ConversationSlots;
  turns: TurnManager;
  registry: ModelRegistry;
  cache: ConnectionCache<LiveSession>;
  /** Signals between the processes sharing the storage. */
  bus: MessageBus;
  liveDeps: LiveSessionDeps;
  allowedUrls: string[];
  defaultServer: McpServerConfig | undefined;
  logger: Logger | undefined;
  /** Present when the host turned on OAuth for MCP servers. */
  oauth?: OAuthManager;
  /** Every user's conversations: histories and the per-user list. */
  conversations: Conversations;
  /** Whether a turn of this conversation is running now, on any process. */
  isConversationRunning(userId: string, conversationId: string): Promise<boolean>;
  /** Tool approval and elicitation, resolved at start-up. */
  askSettings: AskSettings;
  /** Questions turns ask their users (approvals, elicitations), answered from any process. */
  asks: AskBroker;
}

/** Runs the host's `authenticate`; anything but a user with an id is a 401. @internal */
export async function authenticate(context: HandlerContext, request: Request): Promise<ChatUser> {
  let user: ChatUser | null | undefined;
  try {
    user = await context.options.authenticate(request);
  } catch (error) {
    context.logger?.debug?.('authenticate threw', { error: String(error) });
    user = null;
  }
  if (!user || typeof user.id !== 'string' || user.id === '') {
    throw new LlmChatError('UNAUTHORIZED', 'Authentication required.');
  }
  // A lone surrogate (an id taken from a claim the user shaped) cannot be encoded into a storage
  // key or matched by any path: refused here, not a 500 on the first key built from it.
  if (!isWellFormedJson(user.id)) {
    context.logger?.debug?.('authenticate returned an id that is not well-formed Unicode');
    throw new LlmChatError('UNAUTHORIZED', 'Authentication required.');
  }
  return user;
}

/**
 * The user id a request acts for: the authenticated one. A non-empty `user_id` that differs is
 * a 403, so no user can reach another user's session through any route.
 * @internal
 */
export function resolveUserId(user: ChatUser, supplied: string | null | undefined): string {
  if (supplied !== undefined && supplied !== null && supplied !== '' && supplied !== user.id) {
    throw new LlmChatError('FORBIDDEN', 'User ID mismatch.');
  }
  return user.id;
}

/** Borrows this process's live session for `stored`, building it when missing or stale. @internal */
export function acquireLive(context: HandlerContext, stored: StoredSession, request: Request, user: ChatUser) {
  return context.cache.acquire(stored.userId, stored.version, async () => {
    try {
      return await buildLiveSession(context.liveDeps, stored, request, user);
    } catch (error) {
      // Someone wrote a session the host's options forbid: worth a warning, never a spawn.
      if (isLlmChatError(error) && error.code === 'SESSION_INVALID') {
        context.logger?.warn?.('Refused a stored session the host options do not allow.', { ...error.details });
      }
      throw error;
    }
  });
}
