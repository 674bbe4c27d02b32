/**
 * mcp-llmchat: chat with an LLM that uses MCP tools, inside your own Node server.
 *
 * This root entry holds the framework-free core. The Redis backend lives in
 * `mcp-llmchat/redis`; the host adapters in `mcp-llmchat/express`, `/fastify` and `/koa`.
 * @packageDocumentation
 */

export type {
  ApprovalDecision,
  ToolAnnotationHints,
  ToolApprovalRule,
  ToolCallForApproval,
} from './approval/approval-policy.js';
export type { ElicitationOptions, ToolApprovalOptions } from './approval/ask-settings.js';
export { MemoryMessageBus } from './bus/memory-message-bus.js';
export type { MessageBus } from './bus/message-bus.js';
export type { ChatHistory } from './chat/chat-history.js';
export { arrayHistory } from './chat/chat-history.js';
export type { ChatResult, ChatServiceOptions, ChatTurnOptions } from './chat/chat-service.js';
export { ChatService } from './chat/chat-service.js';
export { estimateTokens, type TokenCounter } from './chat/token-budget.js';
export type {
  ConversationBackend,
  ConversationPage,
  ConversationSummary,
  ListConversationsOptions,
  RecordTurnOptions,
} from './conversations/conversation-backend.js';
export { DEFAULT_CONVERSATION_ID, isConversationId } from './conversations/conversation-id.js';
export { titleFromMessage } from './conversations/conversation-title.js';
export { Conversations, type ConversationsOptions } from './conversations/conversations.js';
export type {
  HistoryAssistantMessage,
  HistoryMessage,
  HistoryPage,
  HistoryToolCall,
  HistoryUserMessage,
} from './conversations/history-view.js';
export { MemoryConversationBackend } from './conversations/memory-conversation-backend.js';
export * from './errors.js';
export type { ChatHandler } from './http/chat-handler.js';
export type {
  ChatHandlerMcpOptions,
  ChatHandlerOptions,
  ChatUser,
  ServerAuthContext,
} from './http/chat-handler-options.js';
export { createChatHandler } from './http/create-chat-handler.js';
export type { LimitRequestContext, LimitsOptions, UserLimits } from './limits/limits-options.js';
export { memoryRateWindow } from './limits/memory-rate-window.js';
export type { RateWindowBackend, RateWindowResult } from './limits/rate-window-backend.js';
export * from './llm/index.js';
export type { HeldLock } from './lock/lock.js';
export type { LockBackend } from './lock/lock-backend.js';
export type {
  AcquireLockOptions,
  HoldLockOptions,
  LockLease,
  LockManagerOptions,
  TryAcquireLockOptions,
  UsingLockOptions,
} from './lock/lock-manager.js';
export { LockManager } from './lock/lock-manager.js';
export { MemoryLockBackend } from './lock/memory-lock-backend.js';
export { McpToolbox, type McpToolboxOptions } from './mcp/mcp-toolbox.js';
export type { ToolCallOptions, ToolResult, ToolSource } from './mcp/tool-source.js';
export type { OAuthClientConfig, OAuthOptions } from './oauth/oauth-options.js';
export type { ChatBody, ConnectBody, DisconnectBody } from './schemas.js';
export { chatBodySchema, connectBodySchema, disconnectBodySchema, parseBody } from './schemas.js';
export type { MemorySessionBackendOptions } from './session/memory-session-backend.js';
export { MemorySessionBackend } from './session/memory-session-backend.js';
export type { AppendToListOptions, SessionBackend, TtlRefresh } from './session/session-backend.js';
export type { SessionStoreOptions, StoredSession } from './session/session-store.js';
export { SessionStore } from './session/session-store.js';
export * from './sse/index.js';
export { type ChatStorage, type MemoryStorageOptions, memoryStorage } from './storage.js';
export type {
  LlmCallHooks,
  LlmCallInfo,
  LlmCallResult,
  ToolCallHooks,
  ToolCallInfo,
  ToolCallResult,
  TurnHooks,
  TurnInfo,
  TurnObserver,
  TurnOutcome,
} from './telemetry/turn-observer.js';
export { combineObservers } from './telemetry/turn-observer.js';
export { MemoryTurnBackend, type MemoryTurnBackendOptions } from './turns/memory-turn-backend.js';
export type { TurnAppendOptions, TurnBackend, TurnLogEntry } from './turns/turn-backend.js';
export {
  type IdempotencyRecord,
  type LatestTurn,
  type RecordedEvent,
  TurnLog,
  type TurnLogOptions,
  type TurnRef,
} from './turns/turn-log.js';
export type * from './types.js';
export { MemoryUsageBackend } from './usage/memory-usage-backend.js';
export type { CounterAddition, UsageBackend } from './usage/usage-backend.js';
export { UsageLedger, type UsageLedgerOptions } from './usage/usage-ledger.js';
export type { ModelPrice, ModelUsage, UsageCounts, UsageReport } from './usage/usage-report.js';
