import type { EventSourceMessage } from 'eventsource-parser';
import { LlmChatError } from '../errors.js';
import type { TokenUsage } from '../types.js';
import type { FinishReason, LlmStreamEvent } from './llm-provider.js';
import { parseStreamJson } from './parse-stream-json.js';
import { parseToolArguments } from './parse-tool-arguments.js';
import { markRetryable } from './provider-retry.js';
import { redactProviderMessage } from './redact-provider-message.js';
import type { StreamParser } from './stream-parser.js';
import { StringSlotTemplate } from './string-slot-template.js';
import { withTemplatedText } from './templated-text-push.js';
import { ToolCallBudget } from './tool-call-budget.js';

interface OpenBlock {
  type: string;
  id: string;
  name: string;
  /** Tool input JSON, or the thinking text, as it streams in. */
  json: string;
  /** A thinking block's signature, or a redacted block's data. */
  signature: string;
}

/**
 * Most blocks open at once. The API streams one block at a time, each stopped before the next
 * starts; a stream that keeps starting blocks at new indices must not grow the parser forever.
 */
const MAX_OPEN_BLOCKS = 128;

/**
 * Most characters of thinking (text and signature) the parser gathers for one answer (4 Mi):
 * well over what the largest thinking budgets write, and a bound on the parser's buffer.
 */
const MAX_THINKING_CHARS = 4 * 1024 * 1024;

/** Anthropic `error` event types that mean "try again", not "your request is wrong". */
const RETRYABLE_ERROR_TYPES = new Set(['overloaded_error', 'api_error', 'rate_limit_error']);

/**
 * Turns a Messages API stream into normalized events.
 *
 * `message_start` gives the input tokens; `content_block_start` opens a text or `tool_use`
 * block (id and name); `content_block_delta` carries `text_delta` (→ `text`) or
 * `input_json_delta` pieces, assembled until `content_block_stop` emits the whole `tool_call`;
 * `message_delta` gives the stop reason and output tokens; `message_stop` ends with `usage` and
 * `finish`. Thinking blocks stream their text as `reasoning` and end as one `thinking` event
 * with the signature (a `redacted_thinking` block arrives whole). `ping` and unknown events
 * are ignored.
 *
 * An `error` event is a `PROVIDER_ERROR` (retried before any output when it is an overload);
 * bad JSON, a stream that ends before `message_stop`, and tool calls or thinking past their
 * bounds ({@link ToolCallBudget}, `MAX_THINKING_CHARS`), are `PROVIDER_ERROR` too.
 */
export function createAnthropicStreamParser(label: string, secrets: readonly string[] = []): StreamParser {
  const blocks = new Map<number, OpenBlock>();
  let usage: TokenUsage = { inputTokens: 0, outputTokens: 0 };
  let finish: FinishReason = 'other';
  let sawToolUse = false;
  let stopped = false;
  const toolCalls = new ToolCallBudget(label);
  let thinkingChars = 0;
  // Most events are the previous text delta with another token: read those without parsing them.
  const textDelta = new StringSlotTemplate('"text":"', textOfDelta);

  function* parse(message: EventSourceMessage): Generator<LlmStreamEvent> {
    // The event name is repeated as `type` in the data; trust the data, as the SDKs do.
    const data = parseStreamJson(message.data, label);
    const type = typeof data.type === 'string' ? data.type : message.event;
    switch (type) {
      case 'message_start': {
        const reported = ((data.message as Record<string, unknown> | undefined)?.usage ?? {}) as Record<
          string,
          unknown
        >;
        usage = toUsage(reported, usage);
        break;
      }
      case 'content_block_start': {
        const block = (data.content_block ?? {}) as Record<string, unknown>;
        const open: OpenBlock = {
          type: String(block.type ?? ''),
          id: String(block.id ?? ''),
          name: String(block.name ?? ''),
          json: '',
          // A redacted block arrives whole here; a thinking block's signature comes as a delta.
          signature: typeof block.data === 'string' ? block.data : '',
        };
        const index = count(data.index);
        if (open.type === 'tool_use') toolCalls.openCall();
        // A redacted block's data is held until its stop, like a thinking block's text.
        else gatherThinking(open.signature.length);
        if (blocks.size >= MAX_OPEN_BLOCKS && !blocks.has(index)) {
          throw new LlmChatError('PROVIDER_ERROR', `The ${label} API sent too many content blocks at once.`);
        }
        blocks.set(index, open);
        if (open.type === 'text' && typeof block.text === 'string' && block.text !== '') {
          yield { type: 'text', text: block.text };
        }
        break;
      }
      case 'content_block_delta': {
        const delta = (data.delta ?? {}) as Record<string, unknown>;
        if (delta.type === 'text_delta' && typeof delta.text === 'string') {
          textDelta.learn(message.data, data);
          if (delta.text !== '') yield { type: 'text', text: delta.text };
        } else if (delta.type === 'input_json_delta' && typeof delta.partial_json === 'string') {
          const open = blocks.get(count(data.index));
          if (open) {
            toolCalls.addArguments(delta.partial_json.length);
            open.json += delta.partial_json;
          }
        } else if (delta.type === 'thinking_delta' && typeof delta.thinking === 'string') {
          const open = blocks.get(count(data.index));
          if (open) {
            gatherThinking(delta.thinking.length);
            open.json += delta.thinking;
          }
          if (delta.thinking !== '') yield { type: 'reasoning', text: delta.thinking };
        } else if (delta.type === 'signature_delta' && typeof delta.signature === 'string') {
          const open = blocks.get(count(data.index));
          if (open) {
            gatherThinking(delta.signature.length);
            open.signature += delta.signature;
          }
        }
        break;
      }
      case 'content_block_stop': {
        const index = count(data.index);
        const open = blocks.get(index);
        blocks.delete(index);
        if (open?.type === 'thinking') {
          yield { type: 'thinking', block: { type: 'thinking', thinking: open.json, signature: open.signature } };
        } else if (open?.type === 'redacted_thinking') {
          yield { type: 'thinking', block: { type: 'redacted_thinking', data: open.signature } };
        } else if (open?.type === 'tool_use') {
          if (open.name === '' || open.id === '') {
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
      case 'message_delta': {
        const delta = (data.delta ?? {}) as Record<string, unknown>;
        if (typeof delta.stop_reason === 'string') finish = mapStopReason(delta.stop_reason);
        // Counts here are running totals, not increments; newer API versions repeat the input ones.
        usage = toUsage((data.usage ?? {}) as Record<string, unknown>, usage);
        break;
      }
      case 'message_stop':
        stopped = true;
        yield { type: 'usage', usage };
        yield { type: 'finish', reason: finish === 'other' && sawToolUse ? 'tool_calls' : finish };
        return;
      case 'error': {
        const error = (data.error ?? {}) as Record<string, unknown>;
        const detail = redactProviderMessage(error.message, secrets);
        const failure = new LlmChatError(
          'PROVIDER_ERROR',
          `The ${label} API reported an error${detail ? `: ${detail}` : '.'}`,
          { details: { errorType: typeof error.type === 'string' ? error.type : 'unknown' } },
        );
        throw typeof error.type === 'string' && RETRYABLE_ERROR_TYPES.has(error.type)
          ? markRetryable(failure)
          : failure;
      }
      default:
        break;
    }
  }

  function gatherThinking(length: number): void {
    thinkingChars += length;
    if (thinkingChars <= MAX_THINKING_CHARS) return;
    throw new LlmChatError(
      'PROVIDER_ERROR',
      `The ${label} model sent thinking that is too large (more than ${MAX_THINKING_CHARS} characters).`,
    );
  }

  // biome-ignore lint/correctness/useYield: everything is said by message_stop; this only checks it came.
  function* end(): Generator<LlmStreamEvent> {
    if (!stopped) throw new LlmChatError('PROVIDER_ERROR', `The ${label} stream ended before the answer was complete.`);
  }

  return {
    // A text delta the template matches is read without `parse`.
    push: withTemplatedText(textDelta, parse),
    end,
    get done() {
      return stopped;
    },
  };
}

function mapStopReason(reason: string): FinishReason {
  switch (reason) {
    case 'end_turn':
    case 'stop_sequence':
      return 'stop';
    case 'tool_use':
      return 'tool_calls';
    case 'max_tokens':
      return 'length';
    case 'refusal':
      return 'content_filter';
    default:
      return 'other';
  }
}

/**
 * Merges a reported usage object into what is known. Cached input is counted apart from
 * `input_tokens` by Anthropic; the library's `inputTokens` is everything that was sent.
 */
function toUsage(reported: Record<string, unknown>, known: TokenUsage): TokenUsage {
  const next: TokenUsage = { ...known };
  const has = (key: string) => typeof reported[key] === 'number';
  if (has('cache_read_input_tokens')) next.cachedInputTokens = count(reported.cache_read_input_tokens);
  if (has('cache_creation_input_tokens')) next.cacheWriteInputTokens = count(reported.cache_creation_input_tokens);
  if (has('input_tokens')) {
    next.inputTokens = count(reported.input_tokens) + (next.cachedInputTokens ?? 0) + (next.cacheWriteInputTokens ?? 0);
  }
  if (has('output_tokens')) next.outputTokens = count(reported.output_tokens);
  return next;
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0;
}

/** A `text_delta`'s text: all a text delta event says (no other state changes with it). */
function textOfDelta(data: Record<string, unknown>): unknown {
  if (data.type !== 'content_block_delta') return undefined;
  const delta = data.delta as Record<string, unknown> | null | undefined;
  return delta?.type === 'text_delta' ? delta.text : undefined;
}
