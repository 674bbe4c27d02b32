/**
 * mcp-llmchat: chat with an LLM that uses MCP tools, inside your own Node server.
 *
 * This root entry holds what a host that mounts the chat handler uses: `createChatHandler`,
 * `memoryStorage`, the errors, and the types of the options, events and results. Building
 * blocks (backends, providers, the toolbox, the ledgers) live in `mcp-llmchat/engine`, the SSE
 * helpers in `mcp-llmchat/sse`, the Redis backend in `mcp-llmchat/redis`, the host adapters in
 * `mcp-llmchat/express`, `/fastify` and `/koa`, and OpenTelemetry in `mcp-llmchat/otel`.
 * @packageDocumentation
 */

export type {
  ApprovalDecision,
  ToolAnnotationHints,
  ToolApprovalRule,
  ToolCallForApproval,
} from './approval/approval-policy.js';
export type { ElicitationOptions, ToolApprovalOptions } from './approval/ask-settings.js';
export type { GateContext, GateVerdict, ToolGate } from './approval/tool-gate.js';
// The backend interfaces are the fields of `ChatStorage`: a host writing its own storage names them.
export type { MessageBus } from './bus/message-bus.js';
export type { ChatHistory } from './chat/chat-history.js';
// ChatService, SessionStore and LockManager stay here because the public contract names them at
// the root; `mcp-llmchat/engine` exports them too, next to the blocks they are built from.
export type { ChatResult, ChatServiceOptions, ChatTurnOptions, InterruptedTurn } from './chat/chat-service.js';
export { ChatService } from './chat/chat-service.js';
export type { TokenCounter } from './chat/token-budget.js';
export type {
  ConversationBackend,
  ConversationPage,
  ConversationSummary,
  ListConversationsOptions,
  RecordTurnOptions,
} from './conversations/conversation-backend.js';
export type {
  HistoryAssistantMessage,
  HistoryMessage,
  HistoryPage,
  HistoryToolCall,
  HistoryUserMessage,
} from './conversations/history-view.js';
export type { ElicitContext, Elicitor } from './elicitation/elicitation-relay.js';
export {
  ERROR_CODES,
  ERROR_HTTP_STATUS,
  type ErrorCode,
  type HttpError,
  type HttpErrorBody,
  isLlmChatError,
  LlmChatError,
  type LlmChatErrorOptions,
  toHttpError,
} from './errors.js';
export type { ChatHandler } from './http/chat-handler.js';
export type {
  ChatHandlerMcpOptions,
  ChatHandlerOptions,
  ChatUser,
  ServerAuthContext,
} from './http/chat-handler-options.js';
export { createChatHandler } from './http/create-chat-handler.js';
export type { LimitRequestContext, LimitsOptions, UserLimits } from './limits/limits-options.js';
export type { RateWindowBackend, RateWindowResult } from './limits/rate-window-backend.js';
export type {
  FinishReason,
  LlmCallOptions,
  LlmProvider,
  LlmProviderOptions,
  LlmRequest,
  LlmStreamEvent,
  TextSink,
} from './llm/llm-provider.js';
export type { GatewayModelInfo, ResolvedModel } from './llm/model-registry.js';
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
export type { ElicitationHandler, ElicitationRequest, ElicitationResult } from './mcp/elicitation-router.js';
export type { StoredTool } from './mcp/stored-tool.js';
export type { ToolCallOptions, ToolResult, ToolSource } from './mcp/tool-source.js';
export type { OAuthClientConfig, OAuthOptions } from './oauth/oauth-options.js';
export type { AppendToListOptions, SessionBackend, StoredValue, TtlRefresh } from './session/session-backend.js';
export type { SessionStoreOptions, StoredSession } from './session/session-store.js';
export { SessionStore } from './session/session-store.js';
export { encodeSseEvent, type SseMessage } from './sse/encode-sse-event.js';
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
export type {
  SavedRecord,
  TurnAppendOptions,
  TurnBackend,
  TurnLogEntry,
  UnderLockReplace,
} from './turns/turn-backend.js';
export type * from './types.js';
export type { CounterAddition, UsageBackend } from './usage/usage-backend.js';
export type { UsageLedgerOptions } from './usage/usage-ledger.js';
export type { ModelPrice, ModelUsage, UsageCounts, UsageReport } from './usage/usage-report.js';
