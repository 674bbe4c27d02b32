import { LlmChatError } from '../errors.js';
import type { LlmCallOptions, LlmProvider, LlmRequest, LlmStreamEvent } from './llm-provider.js';
import { toOpenAIMessages, toOpenAITools } from './openai-messages.js';
import { createOpenAIStreamParser } from './openai-stream.js';
import { type LlmProviderRuntimeOptions, streamProviderCall } from './provider-http.js';

/** The provider kinds that speak the Chat Completions API. */
export type OpenAIProviderKind = 'openai' | 'openai_compatible' | 'ollama' | 'azure_openai';

/** Configuration of an {@link OpenAIProvider}. */
export interface OpenAIProviderConfig {
  kind: OpenAIProviderKind;
  /**
   * API root including `/v1` for OpenAI-style kinds; the resource endpoint
   * (`https://x.openai.azure.com`) for Azure. Required for `openai_compatible` and `azure_openai`.
   * @default 'https://api.openai.com/v1' (openai), 'http://127.0.0.1:11434/v1' (ollama)
   */
  baseUrl?: string;
  /** Sent as `Authorization: Bearer …`, or as `api-key` for Azure. Omitted when unset. */
  apiKey?: string;
  /** Azure `api-version`. @default '2024-10-21' */
  apiVersion?: string;
  /** Azure deployment name. @default the request's model */
  deployment?: string;
  /** Extra request headers; they may override the defaults. Treated as secrets. */
  headers?: Record<string, string>;
  /** Temperature used when the request sets none. */
  temperature?: number;
  /** Answer size limit used when the request sets none. */
  maxTokens?: number;
}

const DEFAULT_BASE_URLS: Partial<Record<OpenAIProviderKind, string>> = {
  openai: 'https://api.openai.com/v1',
  ollama: 'http://127.0.0.1:11434/v1',
};
const LABELS: Record<OpenAIProviderKind, string> = {
  openai: 'OpenAI',
  openai_compatible: 'OpenAI-compatible',
  ollama: 'Ollama',
  azure_openai: 'Azure OpenAI',
};
/** Azure's current GA API version with `stream_options.include_usage`. */
const DEFAULT_AZURE_API_VERSION = '2024-10-21';

/**
 * Streams Chat Completions (`stream: true`, `stream_options.include_usage`) from OpenAI, Azure
 * OpenAI, Ollama or any OpenAI-compatible server, over plain `fetch`.
 *
 * @example
 * const provider = new OpenAIProvider({ kind: 'openai', apiKey: key });
 * for await (const event of provider.stream({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] })) {
 *   if (event.type === 'text') process.stdout.write(event.text);
 * }
 */
export class OpenAIProvider implements LlmProvider {
  readonly kind: OpenAIProviderKind;
  readonly #config: OpenAIProviderConfig;
  readonly #options: LlmProviderRuntimeOptions;
  readonly #baseUrl: string;

  /** @throws LlmChatError `CONFIG_INVALID` when a required `baseUrl` is missing. */
  constructor(config: OpenAIProviderConfig, options: LlmProviderRuntimeOptions = {}) {
    const baseUrl = config.baseUrl ?? DEFAULT_BASE_URLS[config.kind];
    if (!baseUrl) {
      throw new LlmChatError('CONFIG_INVALID', `A ${LABELS[config.kind] ?? config.kind} model needs a baseUrl.`);
    }
    this.kind = config.kind;
    this.#config = config;
    this.#options = options;
    this.#baseUrl = baseUrl.replace(/\/+$/, '');
  }

  stream(request: LlmRequest, options: LlmCallOptions = {}): AsyncIterable<LlmStreamEvent> {
    const config = this.#config;
    const label = LABELS[this.kind];
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'text/event-stream',
    };
    if (config.apiKey) {
      if (this.kind === 'azure_openai') headers['api-key'] = config.apiKey;
      else headers.authorization = `Bearer ${config.apiKey}`;
    }
    Object.assign(headers, options.headers, config.headers);

    const body: Record<string, unknown> = {
      model: request.model,
      messages: toOpenAIMessages(request),
      stream: true,
      stream_options: { include_usage: true },
    };
    if (request.tools && request.tools.length > 0) body.tools = toOpenAITools(request.tools);
    const temperature = request.temperature ?? config.temperature;
    if (temperature !== undefined) body.temperature = temperature;
    const maxTokens = request.maxTokens ?? config.maxTokens;
    if (maxTokens !== undefined) body.max_tokens = maxTokens;

    const secrets = [config.apiKey ?? '', ...Object.values(config.headers ?? {})].filter((s) => s !== '');
    return streamProviderCall(
      {
        kind: this.kind,
        label,
        url: this.#url(request.model),
        headers,
        body,
        secrets,
        createParser: () => createOpenAIStreamParser(label, secrets),
      },
      this.#options,
      options.signal,
    );
  }

  #url(model: string): string {
    if (this.kind !== 'azure_openai') return `${this.#baseUrl}/chat/completions`;
    const deployment = encodeURIComponent(this.#config.deployment ?? model);
    const apiVersion = encodeURIComponent(this.#config.apiVersion ?? DEFAULT_AZURE_API_VERSION);
    return `${this.#baseUrl}/openai/deployments/${deployment}/chat/completions?api-version=${apiVersion}`;
  }
}
