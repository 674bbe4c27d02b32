import type { EventSourceMessage } from 'eventsource-parser';
import { LlmChatError } from '../errors.js';
import type { TokenUsage } from '../types.js';
import type { FinishReason, LlmStreamEvent } from './llm-provider.js';
import { parseStreamJson } from './parse-stream-json.js';
import { markRetryable } from './provider-http.js';
import { redactProviderMessage } from './redact-provider-message.js';
import type { StreamParser } from './stream-parser.js';
import { ToolCallBudget } from './tool-call-budget.js';

/** Google error statuses that mean "try again", not "your request is wrong". */
const RETRYABLE_STATUSES = new Set(['RESOURCE_EXHAUSTED', 'UNAVAILABLE', 'INTERNAL', 'DEADLINE_EXCEEDED']);

/**
 * Turns a `streamGenerateContent?alt=sse` stream into normalized events.
 *
 * Every message is a `GenerateContentResponse`: the first candidate's parts give text (thought
 * parts are `reasoning`) and whole `functionCall`s (with their `thoughtSignature`, kept on the call
 * so it can be sent back); `usageMetadata` is cumulative, so the last one counts; the chunk with
 * `finishReason` is the end. The stream has no end marker of its own: it must have said
 * `finishReason` (or blocked the prompt) before the body ends, or it was cut.
 *
 * An `{ error }` message, and `MALFORMED_FUNCTION_CALL`, are `PROVIDER_ERROR`s (retried before
 * any output when they are transient).
 */
export function createGoogleStreamParser(label: string, secrets: readonly string[] = []): StreamParser {
  let tokens: TokenUsage = { inputTokens: 0, outputTokens: 0 };
  let finish: FinishReason | undefined;
  let sawCall = false;
  let calls = 0;
  const toolCalls = new ToolCallBudget(label);

  function* push(message: EventSourceMessage): Generator<LlmStreamEvent> {
    const data = parseStreamJson(message.data, label);
    if (data.error !== undefined) throw streamError(data.error, label, secrets);
    const usage = data.usageMetadata as Record<string, unknown> | undefined;
    if (usage) {
      // Thinking is billed as output; cached content is part of the prompt count.
      tokens = {
        inputTokens: count(usage.promptTokenCount),
        outputTokens: count(usage.candidatesTokenCount) + count(usage.thoughtsTokenCount),
      };
      if (count(usage.cachedContentTokenCount) > 0) tokens.cachedInputTokens = count(usage.cachedContentTokenCount);
    }
    const candidate = (Array.isArray(data.candidates) ? data.candidates[0] : undefined) as
      | Record<string, unknown>
      | undefined;
    if (!candidate) {
      const feedback = data.promptFeedback as Record<string, unknown> | undefined;
      if (typeof feedback?.blockReason === 'string') finish = 'content_filter';
      return;
    }
    const content = candidate.content as Record<string, unknown> | undefined;
    const parts = Array.isArray(content?.parts) ? (content.parts as Array<Record<string, unknown>>) : [];
    for (const part of parts) {
      if (part.thought === true) {
        // A thought summary (when a model sends them): reasoning, never answer text.
        if (typeof part.text === 'string' && part.text !== '') yield { type: 'reasoning', text: part.text };
        continue;
      }
      if (typeof part.text === 'string' && part.text !== '') yield { type: 'text', text: part.text };
      const call = part.functionCall as Record<string, unknown> | undefined;
      if (call) {
        if (typeof call.name !== 'string' || call.name === '') {
          throw new LlmChatError('PROVIDER_ERROR', `The ${label} model sent a function call without a name.`);
        }
        const args = call.args ?? {};
        if (typeof args !== 'object' || args === null || Array.isArray(args)) {
          throw new LlmChatError(
            'PROVIDER_ERROR',
            `The ${label} model sent tool arguments for '${call.name}' that are not an object.`,
          );
        }
        sawCall = true;
        // Each call comes whole, within one event's bounded size; only their number needs a bound.
        toolCalls.openCall();
        calls++;
        const event: LlmStreamEvent = {
          type: 'tool_call',
          // Gemini usually names no id; the chat loop needs one per call.
          id: typeof call.id === 'string' && call.id !== '' ? call.id : `call_${randomId()}_${calls}`,
          name: call.name,
          arguments: args as Record<string, unknown>,
        };
        if (typeof part.thoughtSignature === 'string') event.signature = part.thoughtSignature;
        yield event;
      }
    }
    if (typeof candidate.finishReason === 'string' && candidate.finishReason !== 'FINISH_REASON_UNSPECIFIED') {
      if (candidate.finishReason === 'MALFORMED_FUNCTION_CALL') {
        throw markRetryable(
          new LlmChatError('PROVIDER_ERROR', `The ${label} model produced a malformed function call.`),
        );
      }
      finish = mapFinishReason(candidate.finishReason);
    }
  }

  function* end(): Generator<LlmStreamEvent> {
    if (finish === undefined) {
      throw new LlmChatError('PROVIDER_ERROR', `The ${label} stream ended before the answer was complete.`);
    }
    yield { type: 'usage', usage: tokens };
    // Gemini says STOP for a turn that calls functions.
    yield { type: 'finish', reason: finish === 'stop' && sawCall ? 'tool_calls' : finish };
  }

  return { push, end, done: false };
}

function streamError(raw: unknown, label: string, secrets: readonly string[]): LlmChatError {
  const error = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const status = typeof error.status === 'string' ? error.status : 'unknown';
  const detail = redactProviderMessage(error.message, secrets);
  const failure = new LlmChatError(
    'PROVIDER_ERROR',
    `The ${label} API reported an error${detail ? `: ${detail}` : '.'}`,
    {
      details: { errorType: status },
    },
  );
  return RETRYABLE_STATUSES.has(status) ? markRetryable(failure) : failure;
}

function mapFinishReason(reason: string): FinishReason {
  switch (reason) {
    case 'STOP':
      return 'stop';
    case 'MAX_TOKENS':
      return 'length';
    case 'SAFETY':
    case 'RECITATION':
    case 'BLOCKLIST':
    case 'PROHIBITED_CONTENT':
    case 'SPII':
    case 'IMAGE_SAFETY':
      return 'content_filter';
    default:
      return 'other';
  }
}

function randomId(): string {
  return Math.random().toString(36).slice(2, 10);
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0;
}
