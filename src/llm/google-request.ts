import { wellFormed } from '../internal/well-formed.js';
import { toGeminiContents, toGeminiTools } from './google-messages.js';
import type { LlmRequest } from './llm-provider.js';
import type { ProviderFailureHints } from './provider-http.js';
import { jsonWithTools, ToolJsonCache } from './tool-json-cache.js';

/** Defaults a Gemini model config may give a request. */
export interface GeminiDefaults {
  temperature?: number;
  maxTokens?: number;
}

/**
 * The JSON body of a `streamGenerateContent` call, shared by the Gemini API and Vertex AI, with
 * the tool list from `tools` (serialized once per list, sorted by name, so the prefix stays
 * byte-identical for Gemini's implicit cache).
 */
export function geminiRequestBody(request: LlmRequest, defaults: GeminiDefaults, tools: ToolJsonCache): string {
  const body: Record<string, unknown> = { contents: toGeminiContents(request.messages, request.vision === true) };
  if (request.system) body.systemInstruction = { parts: [{ text: wellFormed(request.system) }] };
  const generationConfig: Record<string, unknown> = {};
  const temperature = request.temperature ?? defaults.temperature;
  if (temperature !== undefined) generationConfig.temperature = temperature;
  const maxTokens = request.maxTokens ?? defaults.maxTokens;
  if (maxTokens !== undefined) generationConfig.maxOutputTokens = maxTokens;
  if (Object.keys(generationConfig).length > 0) body.generationConfig = generationConfig;
  return jsonWithTools(body, tools.get(request.tools));
}

/** A cache of Gemini function declarations for one provider. */
export function geminiToolCache(): ToolJsonCache {
  return new ToolJsonCache((tools) => toGeminiTools(tools));
}

/** The path of a streaming call on a model resource, with `alt=sse` for Server-Sent Events. */
export function streamPath(modelResource: string): string {
  return `${modelResource}:streamGenerateContent?alt=sse`;
}

/**
 * Reads Google's error body (`{ error: { code, status, details } }`): a key the API refuses
 * comes as 400 with reason `API_KEY_INVALID`, and a 429 says its wait in a `RetryInfo` detail.
 */
export function readGoogleFailure(_status: number, body: unknown): ProviderFailureHints | undefined {
  const error = (body as { error?: unknown } | undefined)?.error;
  if (typeof error !== 'object' || error === null) return undefined;
  const details = (error as { details?: unknown }).details;
  const hints: ProviderFailureHints = {};
  for (const detail of Array.isArray(details) ? details : []) {
    if (typeof detail !== 'object' || detail === null) continue;
    const { reason, retryDelay } = detail as { reason?: unknown; retryDelay?: unknown };
    if (reason === 'API_KEY_INVALID' || reason === 'ACCESS_TOKEN_EXPIRED') hints.auth = true;
    const seconds = typeof retryDelay === 'string' ? /^(\d+(?:\.\d+)?)s$/.exec(retryDelay) : null;
    if (seconds) hints.retryAfterMs = Math.ceil(Number(seconds[1]) * 1000);
  }
  if ((error as { status?: unknown }).status === 'UNAUTHENTICATED') hints.auth = true;
  return hints;
}
