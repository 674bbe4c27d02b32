import { LlmChatError } from '../errors.js';

/**
 * Parses the JSON `data` of one SSE message of a provider stream. Anything but a JSON object is
 * a malformed stream (`PROVIDER_ERROR`); the bad text is repeated neither in the message nor in a
 * cause.
 */
export function parseStreamJson(data: string, label: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    // No cause: V8's SyntaxError quotes the text it choked on, which may echo a secret.
    throw new LlmChatError('PROVIDER_ERROR', `The ${label} API sent a malformed stream.`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new LlmChatError('PROVIDER_ERROR', `The ${label} API sent a malformed stream.`);
  }
  return value as Record<string, unknown>;
}
