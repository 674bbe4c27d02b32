/** The provider kinds that speak the Chat Completions API through {@link OpenAIProvider}. */
export type OpenAIProviderKind =
  | 'openai'
  | 'openai_compatible'
  | 'ollama'
  | 'azure_openai'
  | 'mistral'
  | 'groq'
  | 'together';

/**
 * What differs between servers that all speak Chat Completions. Each entry says why, so a new
 * quirk lands here rather than as a flag threaded through the provider.
 * @internal
 */
export interface OpenAIFlavor {
  /** Display name used in error messages. */
  label: string;
  /** The API root when the model config sets none; absent means `baseUrl` is required. */
  defaultBaseUrl?: string;
  /** Whether to ask for a usage chunk with `stream_options.include_usage`. */
  streamUsageOption: boolean;
  /** Whether reasoning models are recognized by name (OpenAI's own `o*` and `gpt-5` families). */
  detectReasoningModels: boolean;
  /** Rewrites tool call ids into the form the API accepts, consistently for calls and results. */
  toolCallId?: (id: string) => string;
  /** Whether `tool` messages carry the tool's `name`. */
  toolMessageName: boolean;
  /**
   * Whether a tool-call round's reasoning goes back as `reasoning_content`: DeepSeek's thinking
   * mode (served as `openai_compatible`, or through Ollama) refuses the next request without it.
   * Off for servers that never stream it or refuse unknown fields.
   */
  reasoningContent: boolean;
}

/** The per-kind table. @internal */
export const OPENAI_FLAVORS: Record<OpenAIProviderKind, OpenAIFlavor> = {
  openai: {
    label: 'OpenAI',
    defaultBaseUrl: 'https://api.openai.com/v1',
    streamUsageOption: true,
    detectReasoningModels: true,
    toolMessageName: false,
    reasoningContent: false,
  },
  azure_openai: {
    label: 'Azure OpenAI',
    streamUsageOption: true,
    detectReasoningModels: true,
    toolMessageName: false,
    reasoningContent: false,
  },
  // Compatible servers in front of OpenAI models (OpenRouter's `openai/o3`) need the same care.
  openai_compatible: {
    label: 'OpenAI-compatible',
    streamUsageOption: true,
    detectReasoningModels: true,
    toolMessageName: false,
    reasoningContent: true,
  },
  ollama: {
    label: 'Ollama',
    defaultBaseUrl: 'http://127.0.0.1:11434/v1',
    streamUsageOption: true,
    detectReasoningModels: false,
    toolMessageName: false,
    reasoningContent: true,
  },
  // Mistral validates strictly: unknown fields (`stream_options`) are a 422, and tool call ids
  // must be exactly nine letters or digits, so ids from another provider's turns are rewritten.
  // It reports usage on the last chunk unasked, and wants the tool's name on tool messages.
  mistral: {
    label: 'Mistral',
    defaultBaseUrl: 'https://api.mistral.ai/v1',
    streamUsageOption: false,
    detectReasoningModels: false,
    toolCallId: mistralToolCallId,
    toolMessageName: true,
    reasoningContent: false,
  },
  // Groq reports usage in `x_groq.usage` on the last chunk without being asked.
  groq: {
    label: 'Groq',
    defaultBaseUrl: 'https://api.groq.com/openai/v1',
    streamUsageOption: false,
    detectReasoningModels: false,
    toolMessageName: false,
    reasoningContent: false,
  },
  // Together puts `usage` on the chunk with `finish_reason` without being asked.
  together: {
    label: 'Together AI',
    defaultBaseUrl: 'https://api.together.xyz/v1',
    streamUsageOption: false,
    detectReasoningModels: false,
    toolMessageName: false,
    reasoningContent: false,
  },
};

const MISTRAL_ID = /^[A-Za-z0-9]{9}$/;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * A tool call id Mistral accepts: its own ids unchanged, any other id (`call_…`, `toolu_…`)
 * mapped to nine letters and digits derived from a hash, so a call and its result still match
 * and the same history always maps the same way.
 * @internal
 */
export function mistralToolCallId(id: string): string {
  if (MISTRAL_ID.test(id)) return id;
  // FNV-1a, twice with different seeds for 64 bits: plain arithmetic, so the providers need no
  // crypto module on any runtime, and nine base-62 digits of it (about 53 bits) hardly collide.
  let high = 0x811c9dc5;
  let low = 0x050c5d1f;
  for (let i = 0; i < id.length; i++) {
    const code = id.charCodeAt(i);
    high = Math.imul(high ^ code, 0x01000193) >>> 0;
    low = Math.imul(low ^ code, 0x01000193) >>> 0;
  }
  let value = high * 2 ** 21 + (low >>> 11);
  let out = '';
  for (let i = 0; i < 9; i++) {
    out += ALPHABET[value % ALPHABET.length];
    value = Math.floor(value / ALPHABET.length);
  }
  return out;
}

// o1, o3-mini, o4-mini, gpt-5, gpt-5.1, gpt-5-mini, with or without a router prefix
// (`openai/o3`); gpt-5-chat models are chat models and take temperature.
const REASONING_MODEL = /^(?:[\w.-]+\/)?(?:o\d+(?:$|[-.])|gpt-5(?!(?:\.\d+)?-chat)(?:$|[-.]))/i;

/**
 * Whether `model` is one of OpenAI's reasoning models, which take `max_completion_tokens`
 * instead of `max_tokens` and refuse `temperature`.
 * @internal
 */
export function isOpenAIReasoningModel(model: string): boolean {
  return REASONING_MODEL.test(model);
}
