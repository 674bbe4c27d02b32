import { LlmChatError } from '../errors.js';
import { wellFormed } from '../internal/well-formed.js';
import { type EventStreamMessage, eventStreamDecoder, loadEventStreamCodec } from './bedrock-event-stream.js';
import { type BedrockMessage, toBedrockMessages, toBedrockToolConfig } from './bedrock-messages.js';
import { type AwsCredentialSource, SigningKeyCache, signBedrockRequest } from './bedrock-signer.js';
import { createBedrockStreamParser } from './bedrock-stream.js';
import type { LlmCallOptions, LlmProvider, LlmRequest, LlmStreamEvent } from './llm-provider.js';
import { type LlmProviderRuntimeOptions, streamProviderCall } from './provider-http.js';
import { ToolJsonCache } from './tool-json-cache.js';

/** Configuration of a {@link BedrockProvider}. */
export interface BedrockProviderConfig {
  /** The AWS region (`us-east-1`): the endpoint's and the signature's. */
  region: string;
  /**
   * The credentials, or an async function returning them, called before every request (so
   * rotating or assumed-role credentials stay fresh; cache in it). Never read from the environment.
   */
  credentials: AwsCredentialSource;
  /** The endpoint origin (a VPC endpoint, a proxy). @default `https://bedrock-runtime.{region}.amazonaws.com` */
  baseUrl?: string;
  /** Extra request headers, signed with the rest. Secrets. */
  headers?: Record<string, string>;
  /** Temperature used when the request sets none. */
  temperature?: number;
  /** `inferenceConfig.maxTokens` when the request sets none. */
  maxTokens?: number;
  /**
   * Adds `cachePoint` blocks after the system prompt, the tool list and the last message, so
   * the next call of the tool loop reads that prefix from the cache. Only for models that
   * support prompt caching (Claude, Nova): others refuse the request. @default false
   */
  promptCaching?: boolean;
}

/** The Converse prompt-cache marker. */
const CACHE_POINT = { cachePoint: { type: 'default' } } as const;

const LABEL = 'Bedrock';

/**
 * Streams the Amazon Bedrock Converse Stream API (`POST /model/{modelId}/converse-stream`) over
 * plain `fetch`: requests signed with SigV4 (`aws4fetch`), the binary event stream decoded with
 * `@smithy/core`. Both are optional peer dependencies, loaded on the first call.
 *
 * The model is a model id, an inference profile id (`us.anthropic.claude-sonnet-4-5-…`) or an ARN.
 *
 * @example
 * const provider = new BedrockProvider({
 *   region: 'us-east-1',
 *   credentials: async () => vault.awsCredentials(),
 * });
 * for await (const event of provider.stream({ model: 'amazon.nova-pro-v1:0', messages })) {
 *   if (event.type === 'text') answer += event.text;
 * }
 */
export class BedrockProvider implements LlmProvider {
  readonly kind = 'bedrock';
  readonly #config: BedrockProviderConfig;
  readonly #options: LlmProviderRuntimeOptions;
  readonly #origin: string;
  readonly #tools = new ToolJsonCache((tools) => toBedrockToolConfig(tools).tools);
  readonly #cachedTools = new ToolJsonCache((tools) => [...toBedrockToolConfig(tools).tools, CACHE_POINT]);
  /** The day's signing keys of this provider's credentials: derived once, not on every request. */
  readonly #signingKeys = new SigningKeyCache();

  constructor(config: BedrockProviderConfig, options: LlmProviderRuntimeOptions = {}) {
    this.#config = config;
    this.#options = options;
    // The region goes into the host name and the signature: only a region name may.
    if (typeof config.region !== 'string' || !/^[a-z0-9-]+$/.test(config.region)) {
      throw new LlmChatError('CONFIG_INVALID', "Bedrock needs a region name like 'us-east-1'.");
    }
    this.#origin = (config.baseUrl ?? `https://bedrock-runtime.${config.region}.amazonaws.com`).replace(/\/+$/, '');
  }

  stream(request: LlmRequest, options: LlmCallOptions = {}): AsyncIterable<LlmStreamEvent> {
    const config = this.#config;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/vnd.amazon.eventstream',
      ...options.headers,
      ...config.headers,
    };
    const withTools = request.tools !== undefined && request.tools.length > 0;
    const body: Record<string, unknown> = {
      messages: toBedrockMessages(request.messages, { vision: request.vision === true, withTools }),
    };
    const caching = config.promptCaching === true;
    if (request.system) {
      const system = { text: wellFormed(request.system) };
      body.system = caching ? [system, CACHE_POINT] : [system];
    }
    if (caching) (body.messages as BedrockMessage[]).at(-1)?.content.push(CACHE_POINT);

    const inferenceConfig: Record<string, unknown> = {};
    const maxTokens = request.maxTokens ?? config.maxTokens;
    if (maxTokens !== undefined) inferenceConfig.maxTokens = maxTokens;
    const temperature = request.temperature ?? config.temperature;
    // Converse takes 0..1 for every model family; the chat API allows up to 2.
    if (temperature !== undefined) inferenceConfig.temperature = Math.min(1, Math.max(0, temperature));
    if (Object.keys(inferenceConfig).length > 0) body.inferenceConfig = inferenceConfig;

    const credentials = typeof config.credentials === 'function' ? undefined : config.credentials;
    const secrets = [
      credentials?.accessKeyId ?? '',
      credentials?.secretAccessKey ?? '',
      credentials?.sessionToken ?? '',
      ...Object.values(config.headers ?? {}),
    ].filter((s) => s !== '');
    return streamProviderCall<EventStreamMessage>(
      {
        kind: this.kind,
        label: LABEL,
        url: `${this.#origin}/model/${encodeURIComponent(request.model)}/converse-stream`,
        headers,
        body: withToolConfig(body, (caching ? this.#cachedTools : this.#tools).get(request.tools)),
        secrets,
        createParser: () => createBedrockStreamParser(LABEL, secrets),
        createDecoder: async () => eventStreamDecoder(await loadEventStreamCodec()),
        authorize: async (call) => {
          // Both peers load before the request goes out, so a missing one costs no model call.
          await loadEventStreamCodec();
          return signBedrockRequest(call, config.credentials, config.region, this.#signingKeys);
        },
      },
      this.#options,
      options.signal,
      options.onText,
    );
  }
}

/** `body` as JSON with the pre-serialized, name-sorted tool list spliced in as `toolConfig.tools`. */
function withToolConfig(body: Record<string, unknown>, toolsJson: string | undefined): string {
  const json = JSON.stringify(body);
  return toolsJson === undefined ? json : `${json.slice(0, -1)},"toolConfig":{"tools":${toolsJson}}}`;
}
