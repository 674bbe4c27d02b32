/**
 * Makes a provider's own error message safe to show a client, or drops it.
 *
 * Provider error bodies are useful ("max_tokens is too large: 999999") but may echo secrets:
 * OpenAI's 401 text quotes part of the API key, proxies echo headers. So only short, plain
 * strings are kept, and anything that looks like a key, a bearer token or a URL with
 * credentials is masked, as is every exact secret the caller passes in.
 */

/** Longest provider message kept; longer ones are dropped rather than cut mid-secret. */
const MAX_MESSAGE_LENGTH = 300;
const MASK = '*****';

// Patterns of things that look like credentials, whatever their origin.
const SECRET_PATTERNS: RegExp[] = [
  /\b(?:sk|pk|rk|ak)-[\w*.-]{4,}/gi,
  /\bbearer\s+\S+/gi,
  /\b(?:api[-_]?key|x-api-key|token|secret|password|authorization)\b\s*[:=]\s*\S+/gi,
  /\b[a-z][a-z0-9+.-]*:\/\/[^\s/@]*@\S*/gi,
  // Long opaque runs (hex digests, JWT parts, Azure keys): no human message needs them.
  /[A-Za-z0-9_\-+/=]{32,}/g,
];

/**
 * Returns a client-safe version of `message`, or `undefined` when it is not a short string.
 * Each entry of `secrets` (4 characters or more) is masked wherever it appears.
 *
 * @example
 * redactProviderMessage('Incorrect API key provided: sk-abc***xyz', ['sk-abcdefxyz']);
 * // 'Incorrect API key provided: *****'
 */
export function redactProviderMessage(message: unknown, secrets: readonly string[] = []): string | undefined {
  if (typeof message !== 'string') return undefined;
  let text = message.replace(/\s+/g, ' ').trim();
  if (text === '' || text.length > MAX_MESSAGE_LENGTH) return undefined;
  for (const secret of secrets) {
    if (secret.length >= 4) text = text.split(secret).join(MASK);
  }
  for (const pattern of SECRET_PATTERNS) text = text.replace(pattern, MASK);
  return text;
}

/**
 * Pulls the provider's own message out of an error body: `{ error: { message } }` (OpenAI,
 * Anthropic, Azure, most compatible servers), `{ error: "..." }` (Ollama), `{ errors: [{ message }] }`
 * (watsonx) or `{ message }` (Cohere).
 */
export function extractProviderMessage(body: unknown): unknown {
  if (typeof body !== 'object' || body === null) return undefined;
  const errors = (body as { errors?: unknown }).errors;
  if (Array.isArray(errors)) return (errors[0] as { message?: unknown } | undefined)?.message;
  const error = (body as { error?: unknown }).error;
  if (typeof error === 'string') return error;
  if (typeof error === 'object' && error !== null) return (error as { message?: unknown }).message;
  return (body as { message?: unknown }).message;
}
