import { LlmChatError } from '../errors.js';
import { copyWith } from '../internal/copy-with.js';
import { IamTokenSource } from './iam-token-source.js';
import type { LlmCallOptions, LlmProvider, LlmRequest, LlmStreamEvent } from './llm-provider.js';
import { toOpenAIMessages, toOpenAITools } from './openai-messages.js';
import { createOpenAIStreamParser } from './openai-stream.js';
import { type LlmProviderRuntimeOptions, streamProviderCall } from './provider-http.js';
import { jsonWithTools, ToolJsonCache } from './tool-json-cache.js';

/** Configuration of a {@link WatsonxProvider}. */
export interface WatsonxProviderConfig {
  /** The regional watsonx.ai origin, for example `https://us-south.ml.cloud.ibm.com`. Required. */
  baseUrl: string;
  /** The IBM Cloud API key, exchanged for IAM tokens. Required unless `tokens` is given. */
  apiKey?: string;
  /** The project to run in; this or `spaceId` is required. */
  projectId?: string;
  /** The deployment space to run in; this or `projectId` is required. */
  spaceId?: string;
  /** The `version` query parameter of the API. @default '2024-05-01' */
  apiVersion?: string;
  /** The IAM origin. @default 'https://iam.cloud.ibm.com' */
  iamUrl?: string;
  /** A token source to share between providers of the same key (the registry passes one per model). */
  tokens?: IamTokenSource;
  /** Extra request headers. Treated as secrets. */
  headers?: Record<string, string>;
  /** Temperature used when the request sets none. */
  temperature?: number;
  /** Answer size limit used when the request sets none. */
  maxTokens?: number;
}

const DEFAULT_API_VERSION = '2024-05-01';
const LABEL = 'watsonx';

/**
 * Streams IBM watsonx.ai chat (`POST /ml/v1/text/chat_stream`) over plain `fetch`.
 *
 * The API key is exchanged for an IAM bearer token before a call, through an
 * {@link IamTokenSource} that caches it until shortly before it expires and runs one exchange
 * at a time. Messages and tools are in the Chat Completions shapes, and so is the stream
 * (`event: message` frames of `chat.completion.chunk` objects, usage on the last one, no
 * `[DONE]`), so both reuse the OpenAI mapping.
 *
 * @example
 * const provider = new WatsonxProvider({ baseUrl: 'https://us-south.ml.cloud.ibm.com', apiKey, projectId });
 */
export class WatsonxProvider implements LlmProvider {
  readonly kind = 'watsonx';
  readonly #config: WatsonxProviderConfig;
  readonly #options: LlmProviderRuntimeOptions;
  readonly #url: string;
  readonly #tokens: IamTokenSource;
  readonly #tools = new ToolJsonCache(toOpenAITools);

  /** @throws LlmChatError `CONFIG_INVALID` without a key, or without a project or space id. */
  constructor(config: WatsonxProviderConfig, options: LlmProviderRuntimeOptions = {}) {
    if (!config.projectId && !config.spaceId) {
      throw new LlmChatError('CONFIG_INVALID', 'A watsonx model needs a projectId or a spaceId.');
    }
    if (!config.tokens && !config.apiKey) throw new LlmChatError('CONFIG_INVALID', 'A watsonx model needs an apiKey.');
    this.#config = config;
    this.#options = options;
    const version = encodeURIComponent(config.apiVersion ?? DEFAULT_API_VERSION);
    this.#url = `${config.baseUrl.replace(/\/+$/, '')}/ml/v1/text/chat_stream?version=${version}`;
    this.#tokens =
      config.tokens ??
      new IamTokenSource({
        apiKey: config.apiKey as string,
        ...(config.iamUrl ? { iamUrl: config.iamUrl } : {}),
        ...(options.fetch ? { fetch: options.fetch } : {}),
      });
  }

  stream(request: LlmRequest, options: LlmCallOptions = {}): AsyncIterable<LlmStreamEvent> {
    const config = this.#config;
    const body: Record<string, unknown> = {
      model_id: request.model,
      ...(config.projectId ? { project_id: config.projectId } : { space_id: config.spaceId }),
      messages: toOpenAIMessages(request),
    };
    const temperature = request.temperature ?? config.temperature;
    if (temperature !== undefined) body.temperature = temperature;
    const maxTokens = request.maxTokens ?? config.maxTokens;
    if (maxTokens !== undefined) body.max_tokens = maxTokens;

    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'text/event-stream',
      ...options.headers,
      ...config.headers,
    };
    const secrets = [config.apiKey ?? '', ...Object.values(config.headers ?? {})].filter((s) => s !== '');
    const tokens = this.#tokens;
    let used: string | undefined;
    return streamProviderCall(
      {
        kind: this.kind,
        label: LABEL,
        url: this.#url,
        headers,
        body: jsonWithTools(body, this.#tools.get(request.tools)),
        secrets,
        authorize: async (call, signal) => {
          used = await tokens.token(signal);
          return copyWith(call.headers, { authorization: `Bearer ${used}` });
        },
        // A refused token (revoked, key rotated) must not be reused until it would expire.
        readFailure: (status) => {
          if (status === 401 && used !== undefined) tokens.clear(used);
          return undefined;
        },
        createParser: () => createOpenAIStreamParser(LABEL, secrets),
      },
      this.#options,
      options.signal,
      options.onText,
    );
  }
}
