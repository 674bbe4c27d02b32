import { AnthropicProvider } from './anthropic-provider.js';
import type { LlmProvider } from './llm-provider.js';
import { OpenAIProvider } from './openai-provider.js';
import type { LlmProviderRuntimeOptions } from './provider-http.js';
import type { ResolvedModel } from './resolved-model.js';

/**
 * Builds the provider for a resolved model: {@link AnthropicProvider} for `anthropic`, else
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
  return new OpenAIProvider(
    {
      kind: model.provider,
      ...shared,
      ...(model.apiVersion === undefined ? {} : { apiVersion: model.apiVersion }),
      // Azure routes by deployment; the registry lets `model` stand in for it.
      ...(model.provider === 'azure_openai' ? { deployment: model.deployment ?? model.model } : {}),
    },
    options,
  );
}
