import { LlmChatError } from '../errors.js';

/**
 * Most tool calls one answer may make. Models call a handful at a time; past this, the stream is
 * broken or hostile, and every call would be held in the parser and then run.
 * @internal
 */
export const MAX_TOOL_CALLS = 128;

/**
 * Most characters of tool-call arguments a stream parser gathers for one answer, all its calls
 * together (4 Mi). The largest output budgets (128k tokens) write well under a million
 * characters; without a bound, a stream that never closes its call grows the parser's buffer
 * until the process runs out of memory.
 * @internal
 */
export const MAX_TOOL_ARGUMENT_CHARS = 4 * 1024 * 1024;

/**
 * Counts what one answer's stream parser holds of its tool calls, and fails the stream
 * (`PROVIDER_ERROR`, not retried: the same answer would break it again) past
 * {@link MAX_TOOL_CALLS} calls or {@link MAX_TOOL_ARGUMENT_CHARS} characters of arguments.
 * A count per call and per argument piece, never per character.
 * @internal
 */
export class ToolCallBudget {
  readonly #label: string;
  #calls = 0;
  #chars = 0;

  /** `label` names the provider in the errors (`OpenAI`, `Anthropic`, …). */
  constructor(label: string) {
    this.#label = label;
  }

  /** Counts a tool call the stream opened. */
  openCall(): void {
    if (++this.#calls <= MAX_TOOL_CALLS) return;
    throw new LlmChatError(
      'PROVIDER_ERROR',
      `The ${this.#label} model sent too many tool calls (more than ${MAX_TOOL_CALLS} in one answer).`,
    );
  }

  /** Counts `length` more characters of arguments gathered. */
  addArguments(length: number): void {
    this.#chars += length;
    if (this.#chars <= MAX_TOOL_ARGUMENT_CHARS) return;
    throw new LlmChatError(
      'PROVIDER_ERROR',
      `The ${this.#label} model sent tool calls that are too large (more than ${MAX_TOOL_ARGUMENT_CHARS} characters of arguments).`,
    );
  }
}
