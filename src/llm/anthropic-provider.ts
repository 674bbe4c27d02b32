import { wellFormed } from '../internal/well-formed.js';
import { EPHEMERAL, toAnthropicMessages, toAnthropicTools } from './anthropic-messages.js';
import { createAnthropicStreamParser } from './anthropic-stream.js';
import { thinkingFits } from './anthropic-thinking-fits.js';
import type { LlmCallOptions, LlmProvider, LlmRequest, LlmStreamEvent } from './llm-provider.js';
import { type LlmProviderRuntimeOptions, streamProviderCall } from './provider-http.js';
import { jsonWithTools, ToolJsonCache } from './tool-json-cache.js';

/** Configuration of an {@link AnthropicProvider}. */
export interface AnthropicProviderConfig {
  /** The API origin, to which `/v1/messages` is appended. @default 'https://api.anthropic.com' */
  baseUrl?: string;
  /** Sent as `x-api-key`. Omitted when unset (for proxies that add it). */
  apiKey?: string;
  /** Extra request headers (for example `anthropic-beta`); they may override the defaults. Secrets. */
  headers?: Record<string, string>;
  /** Temperature used when the request sets none. */
  temperature?: number;
  /** `max_tokens` when the request sets none; the API requires one. @default 4096 */
  maxTokens?: number;
  /**
   * Turns extended thinking on with this budget (the API wants at least 1024). `max_tokens`
   * must exceed it, so a smaller one is raised to the budget plus 4096. Unset: thinking off.
   */
  thinkingBudgetTokens?: number;
  /**
   * Adds `cache_control` breakpoints on the system prompt, the tool list and the last message,
   * so repeated prefixes (the tool schemas above all) are read from Anthropic's prompt cache.
   * @default true
   */
  promptCaching?: boolean;
}

const DEFAULT_BASE_URL = 'https://api.anthropic.com';
const API_VERSION = '2023-06-01';
const DEFAULT_MAX_TOKENS = 4096;
const LABEL = 'Anthropic';

/**
 * Streams the Anthropic Messages API over plain `fetch`.
 *
 * Anthropic accepts temperatures from 0 to 1, while the chat API allows up to 2: larger values
 * are sent as 1 rather than refused. With extended thinking no temperature is sent (the API
 * refuses one), and the turn's signed thinking blocks go back with its tool results. A call the
 * API would refuse with thinking on goes without it: one continuing a tool loop whose thinking
 * blocks are not in the transcript (a turn resumed after a takeover), or a cut answer's prefill.
 *
 * @example
 * const provider = new AnthropicProvider({ apiKey: key, thinkingBudgetTokens: 2048 });
 * for await (const event of provider.stream({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'Hi' }] })) {
 *   if (event.type === 'text') process.stdout.write(event.text);
 * }
 */
export class AnthropicProvider implements LlmProvider {
  readonly kind = 'anthropic';
  readonly #config: AnthropicProviderConfig;
  readonly #options: LlmProviderRuntimeOptions;
  readonly #url: string;
  readonly #caching: boolean;
  readonly #tools: ToolJsonCache;

  constructor(config: AnthropicProviderConfig = {}, options: LlmProviderRuntimeOptions = {}) {
    this.#config = config;
    this.#options = options;
    this.#url = `${(config.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, '')}/v1/messages`;
    const caching = config.promptCaching ?? true;
    this.#caching = caching;
    this.#tools = new ToolJsonCache((tools) => {
      const mapped = toAnthropicTools(tools);
      const last = mapped.at(-1);
      if (caching && last) last.cache_control = EPHEMERAL;
      return mapped;
    });
  }

  stream(request: LlmRequest, options: LlmCallOptions = {}): AsyncIterable<LlmStreamEvent> {
    const config = this.#config;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'text/event-stream',
      'anthropic-version': API_VERSION,
    };
    if (config.apiKey) headers['x-api-key'] = config.apiKey;
    Object.assign(headers, options.headers, config.headers);

    // Off for a call the API would refuse with it on (a resumed tool loop, a prefill): see thinkingFits.
    const budget =
      config.thinkingBudgetTokens !== undefined && thinkingFits(request.messages)
        ? config.thinkingBudgetTokens
        : undefined;
    let maxTokens = request.maxTokens ?? config.maxTokens ?? DEFAULT_MAX_TOKENS;
    if (budget !== undefined && maxTokens <= budget) maxTokens = budget + DEFAULT_MAX_TOKENS;
    const body: Record<string, unknown> = {
      model: request.model,
      max_tokens: maxTokens,
      messages: toAnthropicMessages(request.messages, {
        vision: request.vision === true,
        thinking: budget !== undefined,
        cache: this.#caching,
        withTools: request.tools !== undefined && request.tools.length > 0,
      }),
      stream: true,
    };
    if (request.system) {
      const system = wellFormed(request.system);
      body.system = this.#caching ? [{ type: 'text', text: system, cache_control: EPHEMERAL }] : system;
    }
    if (budget !== undefined) body.thinking = { type: 'enabled', budget_tokens: budget };
    const temperature = request.temperature ?? config.temperature;
    if (temperature !== undefined && budget === undefined) body.temperature = Math.min(1, Math.max(0, temperature));

    const secrets = [config.apiKey ?? '', ...Object.values(config.headers ?? {})].filter((s) => s !== '');
    return streamProviderCall(
      {
        kind: this.kind,
        label: LABEL,
        url: this.#url,
        headers,
        body: jsonWithTools(body, this.#tools.get(request.tools)),
        secrets,
        createParser: () => createAnthropicStreamParser(LABEL, secrets),
      },
      this.#options,
      options.signal,
      options.onText,
    );
  }
}
