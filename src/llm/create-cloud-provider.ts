import { LlmChatError } from '../errors.js';
import { BedrockProvider } from './bedrock-provider.js';
import { GoogleProvider } from './google-provider.js';
import type { LlmProvider } from './llm-provider.js';
import type { LlmProviderRuntimeOptions } from './provider-http.js';
import type { ResolvedModel } from './resolved-model.js';
import { VertexProvider } from './vertex-provider.js';

/** What every provider takes from a model config. */
interface SharedProviderConfig {
  baseUrl?: string;
  apiKey?: string;
  headers?: Record<string, string>;
  temperature?: number;
  maxTokens?: number;
}

/**
 * The provider of a `bedrock`, `google` or `vertex` model, or `undefined` for other kinds.
 * The registry has checked the fields each needs; a model built by hand is checked again here.
 */
export function createCloudProvider(
  model: ResolvedModel,
  shared: SharedProviderConfig,
  options: LlmProviderRuntimeOptions,
): LlmProvider | undefined {
  const { apiKey: _apiKey, ...common } = shared;
  switch (model.provider) {
    case 'bedrock':
      if (!model.region || !model.credentials) throw missing(model, 'a region and credentials');
      return new BedrockProvider(
        {
          ...common,
          region: model.region,
          credentials: model.credentials,
          ...(model.promptCaching === undefined ? {} : { promptCaching: model.promptCaching }),
        },
        options,
      );
    case 'google':
      return new GoogleProvider(
        { ...shared, ...(model.apiVersion === undefined ? {} : { apiVersion: model.apiVersion }) },
        options,
      );
    case 'vertex':
      if (!model.project || !model.getAccessToken) throw missing(model, 'a project and getAccessToken');
      return new VertexProvider(
        {
          ...common,
          project: model.project,
          getAccessToken: model.getAccessToken,
          ...(model.location === undefined ? {} : { location: model.location }),
          ...(model.apiVersion === undefined ? {} : { apiVersion: model.apiVersion }),
        },
        options,
      );
    default:
      return undefined;
  }
}

function missing(model: ResolvedModel, what: string): LlmChatError {
  return new LlmChatError('CONFIG_INVALID', `Model '${model.id}' needs ${what} for provider '${model.provider}'.`);
}
