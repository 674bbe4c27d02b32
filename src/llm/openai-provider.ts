import { LlmChatError } from '../errors.js';
import type { LlmCallOptions, LlmProvider, LlmRequest, LlmStreamEvent } from './llm-provider.js';
import {
  isOpenAIReasoningModel,
  OPENAI_FLAVORS,
  type OpenAIFlavor,
  type OpenAIProviderKind,
} from './openai-flavors.js';
import { toOpenAIMessages, toOpenAITools } from './openai-messages.js';
import { createOpenAIStreamParser } from './openai-stream.js';
import { type LlmProviderRuntimeOptions, streamProviderCall } from './provider-http.js';
import { jsonWithTools, ToolJsonCache } from './tool-json-cache.js';

export type { OpenAIProviderKind } from './openai-flavors.js';

/** Configuration of an {@link OpenAIProvider}. */
export interface OpenAIProviderConfig {
  kind: OpenAIProviderKind;
  /**
   * API root including `/v1` for OpenAI-style kinds; the resource endpoint
   * (`https://x.openai.azure.com`) for Azure. Required for `openai_compatible` and `azure_openai`.
   * @default 'https://api.openai.com/v1' (openai), 'http://127.0.0.1:11434/v1' (ollama),
   * 'https://api.mistral.ai/v1' (mistral), 'https://api.groq.com/openai/v1' (groq),
   * 'https://api.together.xyz/v1' (together)
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
  /** Sent as `reasoning_effort`; implies a reasoning model. */
  reasoningEffort?: 'minimal' | 'low' | 'medium' | 'high';
  /**
   * A reasoning model gets `max_completion_tokens` instead of `max_tokens` and no `temperature`.
   * @default by name for openai, azure_openai and openai_compatible (`o1`…`o4`, `gpt-5`), else false
   */
  reasoningModel?: boolean;
}

/** Azure's current GA API version with `stream_options.include_usage`. */
const DEFAULT_AZURE_API_VERSION = '2024-10-21';

/**
 * Streams Chat Completions from OpenAI, Azure OpenAI, Ollama, Mistral, Groq, Together AI or any
 * OpenAI-compatible server, over plain `fetch`, with each server's quirks (see `openai-flavors.ts`).
 *
 * Reasoning models (OpenAI's `o*` and `gpt-5` families by name, or `reasoningModel: true`) get
 * `max_completion_tokens` and no `temperature`, which those models refuse. Reasoning text some
 * servers stream (`reasoning_content`, `reasoning`) is kept out of the answer.
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
  readonly #flavor: OpenAIFlavor;
  readonly #tools = new ToolJsonCache(toOpenAITools);

  /** @throws LlmChatError `CONFIG_INVALID` when a required `baseUrl` is missing. */
  constructor(config: OpenAIProviderConfig, options: LlmProviderRuntimeOptions = {}) {
    const flavor = OPENAI_FLAVORS[config.kind];
    if (!flavor) throw new LlmChatError('CONFIG_INVALID', 'Unknown OpenAI-style provider kind.');
    const baseUrl = config.baseUrl ?? flavor.defaultBaseUrl;
    if (!baseUrl) throw new LlmChatError('CONFIG_INVALID', `A ${flavor.label} model needs a baseUrl.`);
    this.kind = config.kind;
    this.#config = config;
    this.#options = options;
    this.#flavor = flavor;
    this.#baseUrl = baseUrl.replace(/\/+$/, '');
  }

  stream(request: LlmRequest, options: LlmCallOptions = {}): AsyncIterable<LlmStreamEvent> {
    const config = this.#config;
    const flavor = this.#flavor;
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
      messages: toOpenAIMessages(request, {
        toolMessageName: flavor.toolMessageName,
        reasoningContent: flavor.reasoningContent,
        ...(flavor.toolCallId ? { toolCallId: flavor.toolCallId } : {}),
      }),
      stream: true,
    };
    if (flavor.streamUsageOption) body.stream_options = { include_usage: true };
    const reasoning = this.#isReasoningModel(request.model);
    const temperature = request.temperature ?? config.temperature;
    if (temperature !== undefined && !reasoning) body.temperature = temperature;
    const maxTokens = request.maxTokens ?? config.maxTokens;
    if (maxTokens !== undefined) body[reasoning ? 'max_completion_tokens' : 'max_tokens'] = maxTokens;
    if (config.reasoningEffort !== undefined) body.reasoning_effort = config.reasoningEffort;

    const secrets = [config.apiKey ?? '', ...Object.values(config.headers ?? {})].filter((s) => s !== '');
    return streamProviderCall(
      {
        kind: this.kind,
        label: flavor.label,
        url: this.#url(request.model),
        headers,
        body: jsonWithTools(body, this.#tools.get(request.tools)),
        secrets,
        createParser: () => createOpenAIStreamParser(flavor.label, secrets),
      },
      this.#options,
      options.signal,
      options.onText,
    );
  }

  #isReasoningModel(model: string): boolean {
    const config = this.#config;
    if (config.reasoningModel !== undefined) return config.reasoningModel;
    if (config.reasoningEffort !== undefined) return true;
    const name = this.kind === 'azure_openai' ? (config.deployment ?? model) : model;
    // Azure deployments are named by the host; the model name is the better hint when it differs.
    return this.#flavor.detectReasoningModels && (isOpenAIReasoningModel(model) || isOpenAIReasoningModel(name));
  }

  #url(model: string): string {
    if (this.kind !== 'azure_openai') return `${this.#baseUrl}/chat/completions`;
    const deployment = encodeURIComponent(this.#config.deployment ?? model);
    const apiVersion = encodeURIComponent(this.#config.apiVersion ?? DEFAULT_AZURE_API_VERSION);
    return `${this.#baseUrl}/openai/deployments/${deployment}/chat/completions?api-version=${apiVersion}`;
  }
}
