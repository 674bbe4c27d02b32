import type { TranscriptMessage } from '../types.js';

/** What an OpenAI-style model is told after its cut-off answer, to finish it. @internal */
export const CONTINUE_INSTRUCTION =
  'Your previous answer was cut off. Continue it exactly where it stopped, without repeating anything already written.';

/**
 * The request messages that ask the model to finish an answer that was cut off mid-way (the
 * last message: an assistant answer with text and no tool calls), with a strategy per API:
 * - Anthropic: the partial answer is the last message, an assistant prefill, which the model
 *   continues as its own words (the API refuses a prefill that ends in whitespace, so that is
 *   trimmed; {@link joinAtSeam} puts it back). Extended thinking does not go with a prefill: the
 *   provider sends that one call without it (see `thinkingFits`).
 * - every other API (OpenAI-style and the rest, many of which would treat a trailing assistant
 *   message as finished or refuse it): the partial answer stays an assistant message and a short
 *   user message asks to continue it without repeating.
 * @internal
 */
export function continueAnswerMessages(
  providerKind: string,
  messages: readonly TranscriptMessage[],
): TranscriptMessage[] {
  const last = messages.at(-1);
  if (last?.role !== 'assistant' || last.content === '' || last.toolCalls?.length) return [...messages];
  if (providerKind === 'anthropic') return [...messages.slice(0, -1), { ...last, content: last.content.trimEnd() }];
  return [...messages, { role: 'user', content: CONTINUE_INSTRUCTION }];
}

/**
 * The first piece of a continued answer, joined onto the cut answer without doubling the space
 * at the seam (a model continuing "Hello " often starts with " world"; after a trimmed prefill it
 * always may).
 * @internal
 */
export function joinAtSeam(partial: string, piece: string): string {
  return /\s$/.test(partial) ? piece.replace(/^\s+/, '') : piece;
}
