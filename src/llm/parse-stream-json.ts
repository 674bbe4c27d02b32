import { LlmChatError } from '../errors.js';

/**
 * Parses the JSON `data` of one SSE message of a provider stream. Anything but a JSON object is
 * a malformed stream (`PROVIDER_ERROR`); the bad text is not repeated in the message.
 */
export function parseStreamJson(data: string, label: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch (error) {
    throw new LlmChatError('PROVIDER_ERROR', `The ${label} API sent a malformed stream.`, { cause: error });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new LlmChatError('PROVIDER_ERROR', `The ${label} API sent a malformed stream.`);
  }
  return value as Record<string, unknown>;
}
