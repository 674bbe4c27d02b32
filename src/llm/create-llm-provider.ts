import { AnthropicProvider } from './anthropic-provider.js';
import { createCloudProvider } from './create-cloud-provider.js';
import type { LlmProvider } from './llm-provider.js';
import type { ResolvedModel } from './model-registry.js';
import { OpenAIProvider, type OpenAIProviderKind } from './openai-provider.js';
import type { LlmProviderRuntimeOptions } from './provider-http.js';

/**
 * Builds the provider for a resolved model: {@link AnthropicProvider} for `anthropic`, the
 * Bedrock, Gemini and Vertex providers for `bedrock`, `google` and `vertex`, else
 * {@link OpenAIProvider} with the model's kind, base URL, key, headers and defaults.
 *
 * @example
 * const provider = createLlmProvider(registry.get('gpt-4o'), { totalTimeoutMs: 120_000 });
 */
export function createLlmProvider(model: ResolvedModel, options: LlmProviderRuntimeOptions = {}): LlmProvider {
  const shared = {
    ...(model.baseUrl === undefined ? {} : { baseUrl: model.baseUrl }),
    ...(model.apiKey === undefined ? {} : { apiKey: model.apiKey }),
    ...(model.headers === undefined ? {} : { headers: model.headers }),
    ...(model.temperature === undefined ? {} : { temperature: model.temperature }),
    ...(model.maxTokens === undefined ? {} : { maxTokens: model.maxTokens }),
  };
  if (model.provider === 'anthropic') return new AnthropicProvider(shared, options);
  const cloud = createCloudProvider(model, shared, options);
  if (cloud) return cloud;
  return new OpenAIProvider(
    {
      kind: model.provider as OpenAIProviderKind,
      ...shared,
      ...(model.apiVersion === undefined ? {} : { apiVersion: model.apiVersion }),
      // Azure routes by deployment; the registry lets `model` stand in for it.
      ...(model.provider === 'azure_openai' ? { deployment: model.deployment ?? model.model } : {}),
    },
    options,
  );
}
