import { LlmChatError } from '../errors.js';
import { copyWith } from '../internal/copy-with.js';
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

/** Configuration of a {@link VertexProvider}. */
export interface VertexProviderConfig extends GeminiDefaults {
  /** The Google Cloud project id. */
  project: string;
  /** The location (`us-central1`, `europe-west4`, `global`). @default 'global' */
  location?: string;
  /**
   * Returns an OAuth access token (scope `cloud-platform`), called before every request: bring
   * `google-auth-library`, workload identity or a metadata-server client, and cache in it.
   */
  getAccessToken: () => Promise<string>;
  /** The API origin. @default `https://{location}-aiplatform.googleapis.com` (`aiplatform.googleapis.com` for `global`) */
  baseUrl?: string;
  /** The API version in the path. @default 'v1' */
  apiVersion?: string;
  /** Extra request headers; they may override the defaults. Secrets. */
  headers?: Record<string, string>;
}

const DEFAULT_LOCATION = 'global';
const DEFAULT_API_VERSION = 'v1';
const LABEL = 'Vertex AI';

/**
 * Streams Gemini on Vertex AI
 * (`projects/{project}/locations/{location}/publishers/google/models/{model}:streamGenerateContent?alt=sse`)
 * over plain `fetch`, authorized with a bearer token from the host's `getAccessToken`. A model
 * name that is already a resource path (`projects/…` or `publishers/…`) is used as given.
 *
 * @example
 * const auth = new GoogleAuth({ scopes: 'https://www.googleapis.com/auth/cloud-platform' });
 * const provider = new VertexProvider({
 *   project: 'my-project',
 *   location: 'us-central1',
 *   getAccessToken: async () => (await auth.getAccessToken()) ?? '',
 * });
 */
export class VertexProvider implements LlmProvider {
  readonly kind = 'vertex';
  readonly #config: VertexProviderConfig;
  readonly #options: LlmProviderRuntimeOptions;
  readonly #root: string;
  readonly #tools = geminiToolCache();
  readonly #location: string;

  constructor(config: VertexProviderConfig, options: LlmProviderRuntimeOptions = {}) {
    this.#config = config;
    this.#options = options;
    this.#location = config.location ?? DEFAULT_LOCATION;
    // The location goes into the host name: only a location name may.
    if (!/^[a-z0-9-]+$/.test(this.#location)) {
      throw new LlmChatError('CONFIG_INVALID', 'Vertex AI needs a location name like us-central1 or global.');
    }
    const origin =
      config.baseUrl ??
      (this.#location === 'global'
        ? 'https://aiplatform.googleapis.com'
        : `https://${this.#location}-aiplatform.googleapis.com`);
    this.#root = `${origin.replace(/\/+$/, '')}/${config.apiVersion ?? DEFAULT_API_VERSION}`;
  }

  stream(request: LlmRequest, options: LlmCallOptions = {}): AsyncIterable<LlmStreamEvent> {
    const config = this.#config;
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'text/event-stream' };
    Object.assign(headers, options.headers, config.headers);
    const secrets = Object.values(config.headers ?? {}).filter((s) => s !== '');
    const model = /^(projects|publishers)\//.test(request.model)
      ? request.model
      : `projects/${encodeURIComponent(config.project)}/locations/${encodeURIComponent(this.#location)}/publishers/google/models/${encodeURIComponent(request.model)}`;
    return streamProviderCall(
      {
        kind: this.kind,
        label: LABEL,
        url: `${this.#root}/${streamPath(model)}`,
        headers,
        body: geminiRequestBody(request, config, this.#tools),
        secrets,
        createParser: () => createGoogleStreamParser(LABEL, secrets),
        readFailure: readGoogleFailure,
        authorize: async (call) => {
          const token = await config.getAccessToken();
          // Visible ASCII only: anything else is no token and must not reach a header.
          if (typeof token !== 'string' || !/^[\x21-\x7e]+$/.test(token)) {
            throw new LlmChatError('PROVIDER_AUTH', `The ${LABEL} access token function returned no token.`, {
              details: { provider: 'vertex' },
            });
          }
          return copyWith(call.headers, { authorization: `Bearer ${token}` });
        },
      },
      this.#options,
      options.signal,
      options.onText,
    );
  }
}
