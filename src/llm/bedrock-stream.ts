import { LlmChatError } from '../errors.js';
import type { TokenUsage } from '../types.js';
import type { EventStreamMessage } from './bedrock-event-stream.js';
import type { FinishReason, LlmStreamEvent } from './llm-provider.js';
import { parseStreamJson } from './parse-stream-json.js';
import { parseToolArguments } from './parse-tool-arguments.js';
import { markRetryable } from './provider-http.js';
import { redactProviderMessage } from './redact-provider-message.js';
import type { StreamParser } from './stream-parser.js';
import { ToolCallBudget } from './tool-call-budget.js';

interface OpenToolUse {
  id: string;
  name: string;
  json: string;
}

/** In-stream exceptions worth another attempt (before any output), as the AWS SDK retries them. */
const RETRYABLE_EXCEPTIONS = new Set([
  'internalServerException',
  'modelStreamErrorException',
  'serviceUnavailableException',
  'throttlingException',
]);

/**
 * Turns a Converse Stream event stream into normalized events.
 *
 * `contentBlockStart` opens a `toolUse` block (id and name); `contentBlockDelta` carries `text`
 * (→ `text`) or pieces of the tool input JSON, assembled until `contentBlockStop` emits the whole
 * `tool_call`; reasoning deltas are `reasoning`; `messageStop` gives the stop reason; `metadata`,
 * which follows it, gives the usage and ends the stream.
 *
 * Exception messages (`throttlingException` → `PROVIDER_RATE_LIMITED`, the rest
 * `PROVIDER_ERROR`) fail the call, retried before any output when transient. A stream that ends
 * before `messageStop` was cut: `PROVIDER_ERROR`.
 */
export function createBedrockStreamParser(
  label: string,
  secrets: readonly string[] = [],
): StreamParser<EventStreamMessage> {
  const blocks = new Map<number, OpenToolUse>();
  let usage: TokenUsage = { inputTokens: 0, outputTokens: 0 };
  let finish: FinishReason | undefined;
  let sawToolUse = false;
  let finished = false;
  // Bounds the tool uses held open and their input: a stream that keeps sending must not grow them.
  const toolCalls = new ToolCallBudget(label);

  function* close(): Generator<LlmStreamEvent> {
    finished = true;
    yield { type: 'usage', usage };
    const reason = finish ?? 'other';
    yield { type: 'finish', reason: reason === 'other' && sawToolUse ? 'tool_calls' : reason };
  }

  function* push(message: EventStreamMessage): Generator<LlmStreamEvent> {
    if (message.messageType === 'exception' || message.messageType === 'error') {
      throw exceptionError(message, label, secrets);
    }
    const data = parseStreamJson(message.body, label);
    switch (message.type) {
      case 'contentBlockStart': {
        const start = (data.start ?? {}) as Record<string, unknown>;
        const toolUse = start.toolUse as Record<string, unknown> | undefined;
        if (toolUse) {
          toolCalls.openCall();
          blocks.set(count(data.contentBlockIndex), {
            id: String(toolUse.toolUseId ?? ''),
            name: String(toolUse.name ?? ''),
            json: '',
          });
        }
        break;
      }
      case 'contentBlockDelta': {
        const delta = (data.delta ?? {}) as Record<string, unknown>;
        if (typeof delta.text === 'string' && delta.text !== '') {
          yield { type: 'text', text: delta.text };
        } else if (typeof delta.reasoningContent === 'object' && delta.reasoningContent !== null) {
          // Reasoning models (DeepSeek-R1, gpt-oss, …) stream their thinking here: never answer text.
          const thought = (delta.reasoningContent as Record<string, unknown>).text;
          if (typeof thought === 'string' && thought !== '') yield { type: 'reasoning', text: thought };
        } else if (typeof delta.toolUse === 'object' && delta.toolUse !== null) {
          const open = blocks.get(count(data.contentBlockIndex));
          const input = (delta.toolUse as Record<string, unknown>).input;
          if (open && typeof input === 'string') {
            toolCalls.addArguments(input.length);
            open.json += input;
          }
        }
        break;
      }
      case 'contentBlockStop': {
        const index = count(data.contentBlockIndex);
        const open = blocks.get(index);
        blocks.delete(index);
        if (open) {
          if (open.id === '' || open.name === '') {
            throw new LlmChatError('PROVIDER_ERROR', `The ${label} model sent a tool call without an id or name.`);
          }
          sawToolUse = true;
          yield {
            type: 'tool_call',
            id: open.id,
            name: open.name,
            arguments: parseToolArguments(open.json, label, open.name),
          };
        }
        break;
      }
      case 'messageStop':
        finish = mapStopReason(String(data.stopReason ?? ''));
        break;
      case 'metadata': {
        const raw = (data.usage ?? {}) as Record<string, unknown>;
        // Cached input is counted apart from inputTokens; the total is what was sent.
        const cacheRead = count(raw.cacheReadInputTokens);
        const cacheWrite = count(raw.cacheWriteInputTokens);
        usage = { inputTokens: count(raw.inputTokens) + cacheRead + cacheWrite, outputTokens: count(raw.outputTokens) };
        if (cacheRead > 0) usage.cachedInputTokens = cacheRead;
        if (cacheWrite > 0) usage.cacheWriteInputTokens = cacheWrite;
        if (finish !== undefined) yield* close();
        break;
      }
      default:
        // messageStart and anything newer.
        break;
    }
  }

  function* end(): Generator<LlmStreamEvent> {
    if (finished) return;
    if (finish === undefined) {
      throw new LlmChatError('PROVIDER_ERROR', `The ${label} stream ended before the answer was complete.`);
    }
    // Usage is optional on the wire: a stream may stop without its metadata event.
    yield* close();
  }

  return {
    push,
    end,
    get done() {
      return finished;
    },
  };
}

function exceptionError(message: EventStreamMessage, label: string, secrets: readonly string[]): LlmChatError {
  let text: unknown = message.body;
  if (message.messageType === 'exception') {
    try {
      text = (JSON.parse(message.body) as { message?: unknown }).message;
    } catch {
      text = undefined;
    }
  }
  const detail = redactProviderMessage(text, secrets);
  const details = { provider: 'bedrock', errorType: message.type || 'unknown' };
  if (message.type === 'throttlingException') {
    return markRetryable(
      new LlmChatError('PROVIDER_RATE_LIMITED', `The ${label} API is rate limiting requests. Try again later.`, {
        details,
      }),
    );
  }
  const error = new LlmChatError(
    'PROVIDER_ERROR',
    `The ${label} API reported an error${detail ? `: ${detail}` : '.'}`,
    {
      details,
    },
  );
  return RETRYABLE_EXCEPTIONS.has(message.type) ? markRetryable(error) : error;
}

function mapStopReason(reason: string): FinishReason {
  switch (reason) {
    case 'end_turn':
    case 'stop_sequence':
      return 'stop';
    case 'tool_use':
      return 'tool_calls';
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'guardrail_intervened':
    case 'content_filtered':
      return 'content_filter';
    default:
      return 'other';
  }
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0;
}
