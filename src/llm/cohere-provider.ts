import { toCohereMessages, toCohereTools } from './cohere-messages.js';
import { createCohereStreamParser } from './cohere-stream.js';
import type { LlmCallOptions, LlmProvider, LlmRequest, LlmStreamEvent } from './llm-provider.js';
import { type LlmProviderRuntimeOptions, streamProviderCall } from './provider-http.js';
import { jsonWithTools, ToolJsonCache } from './tool-json-cache.js';

/** Configuration of a {@link CohereProvider}. */
export interface CohereProviderConfig {
  /** The API origin, to which `/v2/chat` is appended. @default 'https://api.cohere.com' */
  baseUrl?: string;
  /** Sent as `Authorization: Bearer …`. */
  apiKey?: string;
  /** Extra request headers. Treated as secrets. */
  headers?: Record<string, string>;
  /** Temperature used when the request sets none (Cohere accepts 0 to 1; larger is sent as 1). */
  temperature?: number;
  /** Answer size limit used when the request sets none. */
  maxTokens?: number;
}

const DEFAULT_BASE_URL = 'https://api.cohere.com';
const LABEL = 'Cohere';

/**
 * Streams Cohere's v2 chat API (`POST /v2/chat`, `stream: true`) over plain `fetch`, with tool
 * calls. The tool plan Cohere streams before calling tools is reasoning, not answer text.
 *
 * @example
 * const provider = new CohereProvider({ apiKey: key });
 * for await (const event of provider.stream({ model: 'command-a-03-2025', messages: [{ role: 'user', content: 'Hi' }] })) {
 *   if (event.type === 'text') process.stdout.write(event.text);
 * }
 */
export class CohereProvider implements LlmProvider {
  readonly kind = 'cohere';
  readonly #config: CohereProviderConfig;
  readonly #options: LlmProviderRuntimeOptions;
  readonly #url: string;
  readonly #tools = new ToolJsonCache(toCohereTools);

  constructor(config: CohereProviderConfig = {}, options: LlmProviderRuntimeOptions = {}) {
    this.#config = config;
    this.#options = options;
    this.#url = `${(config.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, '')}/v2/chat`;
  }

  stream(request: LlmRequest, options: LlmCallOptions = {}): AsyncIterable<LlmStreamEvent> {
    const config = this.#config;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'text/event-stream',
    };
    if (config.apiKey) headers.authorization = `Bearer ${config.apiKey}`;
    Object.assign(headers, options.headers, config.headers);

    const body: Record<string, unknown> = { model: request.model, messages: toCohereMessages(request), stream: true };
    const temperature = request.temperature ?? config.temperature;
    if (temperature !== undefined) body.temperature = Math.min(1, Math.max(0, temperature));
    const maxTokens = request.maxTokens ?? config.maxTokens;
    if (maxTokens !== undefined) body.max_tokens = maxTokens;

    const secrets = [config.apiKey ?? '', ...Object.values(config.headers ?? {})].filter((s) => s !== '');
    return streamProviderCall(
      {
        kind: this.kind,
        label: LABEL,
        url: this.#url,
        headers,
        body: jsonWithTools(body, this.#tools.get(request.tools)),
        secrets,
        createParser: () => createCohereStreamParser(LABEL, secrets),
      },
      this.#options,
      options.signal,
      options.onText,
    );
  }
}
