/**
 * `mcp-llmchat/engine`: the building blocks the chat handler is made of, for hosts that run
 * turns without the HTTP handler or assemble their own storage: `ChatService` and its parts
 * (providers, the model registry, the MCP toolbox, history helpers), the in-memory backends,
 * the stores and ledgers over them, and the lock manager. The types they share with the handler
 * (backend interfaces, options, events) are exported by the root entry `mcp-llmchat`.
 * @packageDocumentation
 */

export { MemoryMessageBus } from './bus/memory-message-bus.js';
export { arrayHistory } from './chat/chat-history.js';
export { ChatService } from './chat/chat-service.js';
export { estimateTokens } from './chat/token-budget.js';
export { DEFAULT_CONVERSATION_ID, isConversationId } from './conversations/conversation-id.js';
export { titleFromMessage } from './conversations/conversation-title.js';
export { Conversations, type ConversationsOptions } from './conversations/conversations.js';
export { MemoryConversationBackend } from './conversations/memory-conversation-backend.js';
export { memoryRateWindow } from './limits/memory-rate-window.js';
export type { AnthropicProviderConfig } from './llm/anthropic-provider.js';
export { AnthropicProvider } from './llm/anthropic-provider.js';
export type { BedrockProviderConfig } from './llm/bedrock-provider.js';
export { BedrockProvider } from './llm/bedrock-provider.js';
export type { AwsCredentialSource } from './llm/bedrock-signer.js';
export type { CohereProviderConfig } from './llm/cohere-provider.js';
export { CohereProvider } from './llm/cohere-provider.js';
export { createLlmProvider } from './llm/create-llm-provider.js';
export type { GoogleProviderConfig } from './llm/google-provider.js';
export { GoogleProvider } from './llm/google-provider.js';
export type { GeminiDefaults } from './llm/google-request.js';
export type { IamTokenSourceOptions } from './llm/iam-token-source.js';
export { IamTokenSource } from './llm/iam-token-source.js';
export { ModelRegistry } from './llm/model-registry.js';
export type { OpenAIProviderConfig, OpenAIProviderKind } from './llm/openai-provider.js';
export { OpenAIProvider } from './llm/openai-provider.js';
export type { LlmProviderRuntimeOptions } from './llm/provider-http.js';
export type { VertexProviderConfig } from './llm/vertex-provider.js';
export { VertexProvider } from './llm/vertex-provider.js';
export type { WatsonxProviderConfig } from './llm/watsonx-provider.js';
export { WatsonxProvider } from './llm/watsonx-provider.js';
export { LockManager } from './lock/lock-manager.js';
export { MemoryLockBackend } from './lock/memory-lock-backend.js';
export type { McpAuth } from './mcp/create-mcp-transport.js';
export { McpToolbox, type McpToolboxOptions } from './mcp/mcp-toolbox.js';
export { MemorySessionBackend, type MemorySessionBackendOptions } from './session/memory-session-backend.js';
export { SessionStore } from './session/session-store.js';
export { combineObservers } from './telemetry/turn-observer.js';
export { MemoryTurnBackend, type MemoryTurnBackendOptions } from './turns/memory-turn-backend.js';
export {
  type IdempotencyRecord,
  type LatestTurn,
  type RecordedEvent,
  TurnLog,
  type TurnLogOptions,
  type TurnRef,
} from './turns/turn-log.js';
export { MemoryUsageBackend, type MemoryUsageBackendOptions } from './usage/memory-usage-backend.js';
export { UsageLedger } from './usage/usage-ledger.js';
