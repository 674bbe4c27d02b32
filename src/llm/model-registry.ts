import { LlmChatError } from '../errors.js';
import type { ModelConfig, ProviderKind } from '../types.js';
import { createLlmProvider } from './create-llm-provider.js';
import type { LlmProvider } from './llm-provider.js';
import type { LlmProviderRuntimeOptions } from './provider-http.js';
import type { ResolvedModel } from './resolved-model.js';

export type { ResolvedModel } from './resolved-model.js';

/** One entry of `GET /gateway/models`, in the gateway's field names. Holds no secret. */
export interface GatewayModelInfo {
  /** The registry id. */
  id: string;
  /** The registry id again: the gateway's UI sends it back as `llm.model`. */
  model_id: string;
  model_name: string;
  provider_id: string;
  provider_name: string;
  provider_type: string;
  supports_streaming: boolean;
  supports_function_calling: boolean;
  supports_vision: boolean;
}

const PROVIDER_NAMES: Record<ProviderKind, string> = {
  openai: 'OpenAI',
  azure_openai: 'Azure OpenAI',
  anthropic: 'Anthropic',
  ollama: 'Ollama',
  openai_compatible: 'OpenAI-compatible',
  watsonx: 'IBM watsonx.ai',
  cohere: 'Cohere',
  mistral: 'Mistral AI',
  groq: 'Groq',
  together: 'Together AI',
  bedrock: 'Amazon Bedrock',
  google: 'Google Gemini',
  vertex: 'Google Vertex AI',
};
const REASONING_EFFORTS = ['minimal', 'low', 'medium', 'high'];
/** Anthropic's smallest thinking budget. */
const MIN_THINKING_BUDGET = 1024;
const DEFAULT_CONTEXT_WINDOW = 128_000;

/**
 * The models users may pick, validated once at construction.
 *
 * Disabled models behave as unknown everywhere: `get` refuses them, `has` and `list` skip them.
 *
 * @example
 * const registry = new ModelRegistry([{ id: 'gpt-4o', provider: 'openai', apiKey: key }]);
 * const provider = registry.createProvider('gpt-4o');
 * registry.list(); // [{ id: 'gpt-4o', model_id: 'gpt-4o', provider_name: 'OpenAI', … }]
 */
export class ModelRegistry {
  readonly #models = new Map<string, ResolvedModel>();

  /** @throws LlmChatError `CONFIG_INVALID` naming the first bad entry (never its secrets). */
  constructor(models: readonly ModelConfig[]) {
    if (!Array.isArray(models))
      throw new LlmChatError('CONFIG_INVALID', 'models must be an array of model configurations.');
    models.forEach((config, index) => {
      const model = resolve(config, index);
      if (this.#models.has(model.id)) {
        throw new LlmChatError('CONFIG_INVALID', `Model id '${model.id}' is configured more than once.`);
      }
      this.#models.set(model.id, model);
    });
  }

  /** Returns `input` if it is a registry already, else builds one from the array. */
  static from(input: ModelRegistry | readonly ModelConfig[]): ModelRegistry {
    return input instanceof ModelRegistry ? input : new ModelRegistry(input);
  }

  /**
   * The enabled model with this id, defaults applied.
   * @throws LlmChatError `MODEL_NOT_FOUND` for unknown or disabled ids.
   */
  get(id: string): ResolvedModel {
    const model = this.#models.get(id);
    if (!model?.enabled) {
      const shown = String(id).slice(0, 100);
      throw new LlmChatError('MODEL_NOT_FOUND', `Model '${shown}' is not available.`);
    }
    return model;
  }

  /** Whether {@link ModelRegistry.get} would succeed. */
  has(id: string): boolean {
    return this.#models.get(id)?.enabled === true;
  }

  /** The enabled models, in configuration order, for `GET /gateway/models`. No secrets. */
  list(): GatewayModelInfo[] {
    return [...this.#models.values()]
      .filter((model) => model.enabled)
      .map((model) => ({
        id: model.id,
        model_id: model.id,
        model_name: model.name,
        provider_id: model.provider,
        provider_name: model.providerName,
        provider_type: model.provider,
        supports_streaming: model.supportsStreaming,
        supports_function_calling: model.supportsFunctionCalling,
        supports_vision: model.supportsVision,
      }));
  }

  /**
   * A provider for the enabled model `id`.
   * @throws LlmChatError `MODEL_NOT_FOUND` for unknown or disabled ids.
   */
  createProvider(id: string, options?: LlmProviderRuntimeOptions): LlmProvider {
    return createLlmProvider(this.get(id), options);
  }
}

function resolve(config: ModelConfig, index: number): ResolvedModel {
  const where = `models[${index}]`;
  if (typeof config !== 'object' || config === null) {
    throw new LlmChatError('CONFIG_INVALID', `${where} must be an object.`);
  }
  if (typeof config.id !== 'string' || config.id.trim() === '') {
    throw new LlmChatError('CONFIG_INVALID', `${where} needs a non-empty id.`);
  }
  const label = `Model '${config.id}'`;
  if (!Object.hasOwn(PROVIDER_NAMES, config.provider)) {
    throw new LlmChatError(
      'CONFIG_INVALID',
      `${label} has an unknown provider; use one of ${Object.keys(PROVIDER_NAMES).join(', ')}.`,
    );
  }
  if (config.baseUrl !== undefined && !isHttpUrl(config.baseUrl)) {
    throw new LlmChatError('CONFIG_INVALID', `${label} has a baseUrl that is not an http(s) URL.`);
  }
  if ((config.provider === 'openai_compatible' || config.provider === 'azure_openai') && !config.baseUrl) {
    throw new LlmChatError('CONFIG_INVALID', `${label} needs a baseUrl for provider '${config.provider}'.`);
  }
  if (config.provider === 'azure_openai' && !config.deployment && !config.model) {
    throw new LlmChatError('CONFIG_INVALID', `${label} needs a deployment (or model) for Azure OpenAI.`);
  }
  if (config.provider === 'watsonx') {
    if (!config.baseUrl) throw new LlmChatError('CONFIG_INVALID', `${label} needs a baseUrl for provider 'watsonx'.`);
    if (!config.apiKey) throw new LlmChatError('CONFIG_INVALID', `${label} needs an apiKey for provider 'watsonx'.`);
    if (!config.projectId && !config.spaceId) {
      throw new LlmChatError('CONFIG_INVALID', `${label} needs a projectId or a spaceId for provider 'watsonx'.`);
    }
  }
  if (config.iamUrl !== undefined && !isHttpUrl(config.iamUrl)) {
    throw new LlmChatError('CONFIG_INVALID', `${label} has an iamUrl that is not an http(s) URL.`);
  }
  if (config.reasoningEffort !== undefined && !REASONING_EFFORTS.includes(config.reasoningEffort)) {
    throw new LlmChatError(
      'CONFIG_INVALID',
      `${label} reasoningEffort must be one of ${REASONING_EFFORTS.join(', ')}.`,
    );
  }
  checkNumber(
    config.thinkingBudgetTokens,
    `${label} thinkingBudgetTokens`,
    (n) => Number.isInteger(n) && n >= MIN_THINKING_BUDGET,
    `a whole number of at least ${MIN_THINKING_BUDGET}`,
  );
  checkCloudFields(config, label);
  checkNumber(config.temperature, `${label} temperature`, (n) => n >= 0 && n <= 2, 'between 0 and 2');
  checkNumber(config.maxTokens, `${label} maxTokens`, (n) => Number.isInteger(n) && n > 0, 'a positive integer');
  checkNumber(
    config.contextWindow,
    `${label} contextWindow`,
    (n) => Number.isInteger(n) && n > 0,
    'a positive integer',
  );

  const model: ResolvedModel = {
    id: config.id,
    model: config.model || config.id,
    provider: config.provider,
    name: config.name || config.id,
    providerName: config.providerName || PROVIDER_NAMES[config.provider],
    contextWindow: config.contextWindow ?? DEFAULT_CONTEXT_WINDOW,
    supportsStreaming: config.supportsStreaming ?? true,
    supportsFunctionCalling: config.supportsFunctionCalling ?? true,
    supportsVision: config.supportsVision ?? false,
    enabled: config.enabled ?? true,
  };
  for (const key of [
    'baseUrl',
    'apiKey',
    'apiVersion',
    'deployment',
    'temperature',
    'maxTokens',
    'headers',
    'reasoningEffort',
    'reasoningModel',
    'thinkingBudgetTokens',
    'promptCaching',
    'projectId',
    'spaceId',
    'iamUrl',
    'region',
    'credentials',
    'project',
    'location',
    'getAccessToken',
  ] as const) {
    if (config[key] !== undefined) (model as unknown as Record<string, unknown>)[key] = config[key];
  }
  return model;
}

/** What Bedrock and Vertex cannot work without; checked here so a typo fails at startup, not on a user's turn. */
function checkCloudFields(config: ModelConfig, label: string): void {
  if (config.provider === 'bedrock') {
    if (typeof config.region !== 'string' || !/^[a-z0-9-]+$/.test(config.region)) {
      throw new LlmChatError('CONFIG_INVALID', `${label} needs a region (like 'us-east-1') for Amazon Bedrock.`);
    }
    const credentials = config.credentials;
    const usable =
      typeof credentials === 'function' ||
      (typeof credentials === 'object' &&
        credentials !== null &&
        typeof credentials.accessKeyId === 'string' &&
        credentials.accessKeyId !== '' &&
        typeof credentials.secretAccessKey === 'string' &&
        credentials.secretAccessKey !== '');
    if (!usable) {
      throw new LlmChatError(
        'CONFIG_INVALID',
        `${label} needs credentials for Amazon Bedrock: { accessKeyId, secretAccessKey, sessionToken? } or an async function returning them.`,
      );
    }
  }
  if (config.provider === 'vertex') {
    if (typeof config.project !== 'string' || config.project === '') {
      throw new LlmChatError('CONFIG_INVALID', `${label} needs a project for Vertex AI.`);
    }
    if (config.location !== undefined && !/^[a-z0-9-]+$/.test(String(config.location))) {
      throw new LlmChatError('CONFIG_INVALID', `${label} has a location that is not a Google Cloud location name.`);
    }
    if (typeof config.getAccessToken !== 'function') {
      throw new LlmChatError('CONFIG_INVALID', `${label} needs a getAccessToken function for Vertex AI.`);
    }
  }
}

function checkNumber(value: unknown, what: string, ok: (n: number) => boolean, expected: string): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isFinite(value) || !ok(value)) {
    throw new LlmChatError('CONFIG_INVALID', `${what} must be ${expected}.`);
  }
}

function isHttpUrl(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}
