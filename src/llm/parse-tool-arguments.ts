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
  } catch {
    // No cause: V8's SyntaxError quotes the text it choked on, which may echo a secret.
    throw new LlmChatError(
      'PROVIDER_ERROR',
      `The ${label} model sent invalid JSON arguments for the tool '${shownName(toolName)}'.`,
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new LlmChatError(
      'PROVIDER_ERROR',
      `The ${label} model sent tool arguments for '${shownName(toolName)}' that are not an object.`,
    );
  }
  return value as Record<string, unknown>;
}

// The name is the model's word, not a tool's: only its start goes into a message clients see.
const MAX_SHOWN_NAME = 64;

function shownName(name: string): string {
  return name.length > MAX_SHOWN_NAME ? `${name.slice(0, MAX_SHOWN_NAME)}…` : name;
}
