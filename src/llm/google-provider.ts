import {
  type GeminiDefaults,
  geminiRequestBody,
  geminiToolCache,
  readGoogleFailure,
  streamPath,
} from './google-request.js';
import { createGoogleStreamParser } from './google-stream.js';
import type { LlmCallOptions, LlmProvider, LlmRequest, LlmStreamEvent } from './llm-provider.js';
import { type LlmProviderRuntimeOptions, streamProviderCall } from './provider-http.js';

/** Configuration of a {@link GoogleProvider}. */
export interface GoogleProviderConfig extends GeminiDefaults {
  /** Sent as the `x-goog-api-key` header, never in the URL (URLs end up in logs). */
  apiKey?: string;
  /** The API origin. @default 'https://generativelanguage.googleapis.com' */
  baseUrl?: string;
  /** The API version in the path. @default 'v1beta' */
  apiVersion?: string;
  /** Extra request headers; they may override the defaults. Secrets. */
  headers?: Record<string, string>;
}

const DEFAULT_BASE_URL = 'https://generativelanguage.googleapis.com';
const DEFAULT_API_VERSION = 'v1beta';
const LABEL = 'Gemini';

/**
 * Streams the Gemini API (`models/{model}:streamGenerateContent?alt=sse`) over plain `fetch`,
 * with function calling and Gemini 3's thought signatures carried back on tool calls.
 *
 * @example
 * const provider = new GoogleProvider({ apiKey: key });
 * for await (const event of provider.stream({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'Hi' }] })) {
 *   if (event.type === 'text') answer += event.text;
 * }
 */
export class GoogleProvider implements LlmProvider {
  readonly kind = 'google';
  readonly #config: GoogleProviderConfig;
  readonly #options: LlmProviderRuntimeOptions;
  readonly #root: string;
  readonly #tools = geminiToolCache();

  constructor(config: GoogleProviderConfig = {}, options: LlmProviderRuntimeOptions = {}) {
    this.#config = config;
    this.#options = options;
    const origin = (config.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
    this.#root = `${origin}/${config.apiVersion ?? DEFAULT_API_VERSION}`;
  }

  stream(request: LlmRequest, options: LlmCallOptions = {}): AsyncIterable<LlmStreamEvent> {
    const config = this.#config;
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'text/event-stream' };
    if (config.apiKey) headers['x-goog-api-key'] = config.apiKey;
    Object.assign(headers, options.headers, config.headers);
    const secrets = [config.apiKey ?? '', ...Object.values(config.headers ?? {})].filter((s) => s !== '');
    return streamProviderCall(
      {
        kind: this.kind,
        label: LABEL,
        url: `${this.#root}/${streamPath(`models/${encodeURIComponent(request.model)}`)}`,
        headers,
        body: geminiRequestBody(request, config, this.#tools),
        secrets,
        createParser: () => createGoogleStreamParser(LABEL, secrets),
        readFailure: readGoogleFailure,
      },
      this.#options,
      options.signal,
      options.onText,
    );
  }
}
