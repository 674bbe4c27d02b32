import { AnthropicProvider } from './anthropic-provider.js';
import { CohereProvider } from './cohere-provider.js';
import { createCloudProvider } from './create-cloud-provider.js';
import { IamTokenSource } from './iam-token-source.js';
import type { LlmProvider } from './llm-provider.js';
import { OpenAIProvider, type OpenAIProviderKind } from './openai-provider.js';
import type { LlmProviderRuntimeOptions } from './provider-http.js';
import type { ResolvedModel } from './resolved-model.js';
import { WatsonxProvider } from './watsonx-provider.js';

// One IAM token source per configured watsonx model, shared by every session's provider, so
// sessions reuse one cached token. Keyed by the registry's long-lived model object: no secret
// is ever a key, and a dropped registry takes its tokens with it.
const iamTokens = new WeakMap<ResolvedModel, IamTokenSource>();

/**
 * Builds the provider for a resolved model: {@link AnthropicProvider} for `anthropic`,
 * {@link CohereProvider} for `cohere`, {@link WatsonxProvider} for `watsonx`, the Bedrock,
 * Gemini and Vertex providers for `bedrock`, `google` and `vertex`, else
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
  switch (model.provider) {
    case 'anthropic':
      return new AnthropicProvider(
        {
          ...shared,
          ...(model.thinkingBudgetTokens === undefined ? {} : { thinkingBudgetTokens: model.thinkingBudgetTokens }),
          ...(model.promptCaching === undefined ? {} : { promptCaching: model.promptCaching }),
        },
        options,
      );
    case 'cohere':
      return new CohereProvider(shared, options);
    case 'watsonx':
      return new WatsonxProvider(
        {
          ...shared,
          baseUrl: model.baseUrl ?? '',
          ...(model.projectId === undefined ? {} : { projectId: model.projectId }),
          ...(model.spaceId === undefined ? {} : { spaceId: model.spaceId }),
          ...(model.apiVersion === undefined ? {} : { apiVersion: model.apiVersion }),
          tokens: iamTokensOf(model, options),
        },
        options,
      );
    default: {
      const cloud = createCloudProvider(model, shared, options);
      if (cloud) return cloud;
      return new OpenAIProvider(
        {
          kind: model.provider as OpenAIProviderKind,
          ...shared,
          ...(model.apiVersion === undefined ? {} : { apiVersion: model.apiVersion }),
          ...(model.reasoningEffort === undefined ? {} : { reasoningEffort: model.reasoningEffort }),
          ...(model.reasoningModel === undefined ? {} : { reasoningModel: model.reasoningModel }),
          // Azure routes by deployment; the registry lets `model` stand in for it.
          ...(model.provider === 'azure_openai' ? { deployment: model.deployment ?? model.model } : {}),
        },
        options,
      );
    }
  }
}

function iamTokensOf(model: ResolvedModel, options: LlmProviderRuntimeOptions): IamTokenSource {
  let tokens = iamTokens.get(model);
  if (!tokens) {
    tokens = new IamTokenSource({
      apiKey: model.apiKey ?? '',
      ...(model.iamUrl === undefined ? {} : { iamUrl: model.iamUrl }),
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
    iamTokens.set(model, tokens);
  }
  return tokens;
}
