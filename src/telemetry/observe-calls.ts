import { LlmChatError } from '../errors.js';
import { GrowingText } from '../internal/growing-text.js';
import type { FinishReason, LlmStreamEvent } from '../llm/llm-provider.js';
import type { ToolResult } from '../mcp/tool-source.js';
import type { TokenUsage } from '../types.js';
import type { LlmCallHooks, ToolCallHooks } from './turn-observer.js';

/**
 * Passes one LLM call's events through while telling its hooks about the first text and the
 * end: success, a failure, or a consumer that stopped reading (ended as `ABORTED`, or with the
 * turn's abort reason). Only used when someone observes, so unobserved turns pay nothing.
 * @internal
 */
export async function* observeLlmCall(
  events: AsyncIterable<LlmStreamEvent>,
  hooks: LlmCallHooks,
  signal: AbortSignal | undefined,
): AsyncGenerator<LlmStreamEvent, void, undefined> {
  const text = new GrowingText();
  let toolCalls = 0;
  let usage: TokenUsage | undefined;
  let finishReason: FinishReason | undefined;
  // Unset while the call runs; a consumer that stops reading leaves it unset.
  let outcome: { error?: unknown } | undefined;
  try {
    for await (const event of events) {
      if (event.type === 'text' && event.text.length > 0) {
        if (text.text === '') hooks.firstToken?.();
        text.append(event.text);
      } else if (event.type === 'tool_call') toolCalls += 1;
      else if (event.type === 'usage') usage = event.usage;
      else if (event.type === 'finish') finishReason = event.reason;
      yield event;
    }
    outcome = {};
  } catch (error) {
    outcome = { error };
    throw error;
  } finally {
    const error = outcome
      ? outcome.error
      : (signal?.reason ?? new LlmChatError('ABORTED', 'The chat turn was stopped.'));
    hooks.end?.({
      text: text.text,
      toolCalls,
      ...(usage ? { usage } : {}),
      ...(finishReason ? { finishReason } : {}),
      ...(error === undefined ? {} : { error }),
    });
  }
}

/** Tells a tool call's hooks how it ended, passing its outcome through. @internal */
export function observeToolCall(call: Promise<ToolResult>, hooks: ToolCallHooks | undefined): Promise<ToolResult> {
  if (!hooks?.end) return call;
  const end = hooks.end;
  return call.then(
    (result) => {
      end({ isError: result.isError, text: result.text });
      return result;
    },
    (error: unknown) => {
      end({ isError: true, error });
      throw error;
    },
  );
}
