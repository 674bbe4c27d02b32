import { LlmChatError } from '../errors.js';

/**
 * Parses the JSON text of a streamed tool call's arguments. Empty text means no arguments
 * (`{}`); text that is not a JSON object is a `PROVIDER_ERROR`.
 *
 * Invalid arguments fail the call instead of being replaced by `{}`: running a tool with
 * arguments the model did not mean (a delete without its filter) is worse than an error.
 */
export function parseToolArguments(text: string, label: string, toolName: string): Record<string, unknown> {
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new LlmChatError(
      'PROVIDER_ERROR',
      `The ${label} model sent invalid JSON arguments for the tool '${toolName}'.`,
      {
        cause: error,
      },
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new LlmChatError(
      'PROVIDER_ERROR',
      `The ${label} model sent tool arguments for '${toolName}' that are not an object.`,
    );
  }
  return value as Record<string, unknown>;
}
