/** LLM providers over plain `fetch`, and the model registry. */
export type { AnthropicProviderConfig } from './anthropic-provider.js';
export { AnthropicProvider } from './anthropic-provider.js';
export type { BedrockProviderConfig } from './bedrock-provider.js';
export { BedrockProvider } from './bedrock-provider.js';
export type { AwsCredentialSource } from './bedrock-signer.js';
export type { CohereProviderConfig } from './cohere-provider.js';
export { CohereProvider } from './cohere-provider.js';
export { createLlmProvider } from './create-llm-provider.js';
export type { GoogleProviderConfig } from './google-provider.js';
export { GoogleProvider } from './google-provider.js';
export type { IamTokenSourceOptions } from './iam-token-source.js';
export { IamTokenSource } from './iam-token-source.js';
export type {
  FinishReason,
  LlmCallOptions,
  LlmProvider,
  LlmProviderOptions,
  LlmRequest,
  LlmStreamEvent,
} from './llm-provider.js';
export type { GatewayModelInfo, ResolvedModel } from './model-registry.js';
export { ModelRegistry } from './model-registry.js';
export type { OpenAIProviderConfig, OpenAIProviderKind } from './openai-provider.js';
export { OpenAIProvider } from './openai-provider.js';
export type { LlmProviderRuntimeOptions } from './provider-http.js';
export type { ReadSseOptions } from './read-sse.js';
export { readSse } from './read-sse.js';
export type { VertexProviderConfig } from './vertex-provider.js';
export { VertexProvider } from './vertex-provider.js';
export type { WatsonxProviderConfig } from './watsonx-provider.js';
export { WatsonxProvider } from './watsonx-provider.js';
