import type { EventSourceMessage } from 'eventsource-parser';
import { LlmChatError } from '../errors.js';
import type { TokenUsage } from '../types.js';
import type { FinishReason, LlmStreamEvent } from './llm-provider.js';
import { parseStreamJson } from './parse-stream-json.js';
import { parseToolArguments } from './parse-tool-arguments.js';
import { redactProviderMessage } from './redact-provider-message.js';
import type { StreamParser } from './stream-parser.js';
import { ToolCallBudget } from './tool-call-budget.js';

interface OpenCall {
  id: string;
  name: string;
  arguments: string;
}

type Delta = { message?: Record<string, unknown>; finish_reason?: unknown; usage?: Record<string, unknown> };

/**
 * Turns a Cohere v2 chat stream into normalized events.
 *
 * `content-delta` → `text`; `tool-plan-delta` (the model saying what it is about to do) →
 * `reasoning`, not part of the answer; `tool-call-start` opens a call (id, name), its
 * `tool-call-delta`s carry argument pieces, and `tool-call-end` emits the whole `tool_call`;
 * `message-end` gives the finish reason and usage (`tokens`, else `billed_units`, and
 * `cached_tokens`) and ends the stream. Other events (`message-start`, `content-start`,
 * `content-end`, `citation-*`) carry nothing needed here.
 *
 * A stream that ends before `message-end`, bad JSON, and a finish reason of `ERROR` are
 * `PROVIDER_ERROR`s.
 */
export function createCohereStreamParser(label: string, secrets: readonly string[] = []): StreamParser {
  const calls = new Map<number, OpenCall>();
  let sawToolCall = false;
  let ended = false;
  // Bounds the calls held open and their arguments: a stream that keeps sending must not grow them.
  const toolCalls = new ToolCallBudget(label);

  function* push(message: EventSourceMessage): Generator<LlmStreamEvent> {
    if (message.data.trim() === '[DONE]') return;
    const data = parseStreamJson(message.data, label);
    const type = typeof data.type === 'string' ? data.type : message.event;
    const delta = (data.delta ?? {}) as Delta;
    const content = (delta.message ?? {}) as Record<string, unknown>;
    const index = typeof data.index === 'number' ? data.index : 0;
    switch (type) {
      case 'content-delta': {
        const text = (content.content as Record<string, unknown> | undefined)?.text;
        if (typeof text === 'string' && text !== '') yield { type: 'text', text };
        break;
      }
      case 'tool-plan-delta': {
        if (typeof content.tool_plan === 'string' && content.tool_plan !== '') {
          yield { type: 'reasoning', text: content.tool_plan };
        }
        break;
      }
      case 'tool-call-start': {
        const call = (content.tool_calls ?? {}) as Record<string, unknown>;
        const fn = (call.function ?? {}) as Record<string, unknown>;
        const args = typeof fn.arguments === 'string' ? fn.arguments : '';
        toolCalls.openCall();
        toolCalls.addArguments(args.length);
        calls.set(index, {
          id: typeof call.id === 'string' ? call.id : '',
          name: typeof fn.name === 'string' ? fn.name : '',
          arguments: args,
        });
        break;
      }
      case 'tool-call-delta': {
        const fn = ((content.tool_calls ?? {}) as Record<string, unknown>).function as
          | Record<string, unknown>
          | undefined;
        const open = calls.get(index);
        if (open && typeof fn?.arguments === 'string') {
          toolCalls.addArguments(fn.arguments.length);
          open.arguments += fn.arguments;
        }
        break;
      }
      case 'tool-call-end': {
        const open = calls.get(index);
        calls.delete(index);
        if (!open || open.id === '' || open.name === '') {
          throw new LlmChatError('PROVIDER_ERROR', `The ${label} model sent a tool call without an id or name.`);
        }
        sawToolCall = true;
        yield {
          type: 'tool_call',
          id: open.id,
          name: open.name,
          arguments: parseToolArguments(open.arguments, label, open.name),
        };
        break;
      }
      case 'message-end': {
        ended = true;
        const reason = typeof delta.finish_reason === 'string' ? delta.finish_reason : '';
        if (reason === 'ERROR') {
          const detail = redactProviderMessage((delta as { error?: unknown }).error, secrets);
          throw new LlmChatError('PROVIDER_ERROR', `The ${label} API reported an error${detail ? `: ${detail}` : '.'}`);
        }
        const usage = toUsage(delta.usage);
        if (usage) yield { type: 'usage', usage };
        yield { type: 'finish', reason: mapFinishReason(reason, sawToolCall) };
        break;
      }
      default:
        break;
    }
  }

  // biome-ignore lint/correctness/useYield: everything is said by message-end; this only checks it came.
  function* end(): Generator<LlmStreamEvent> {
    if (!ended) throw new LlmChatError('PROVIDER_ERROR', `The ${label} stream ended before the answer was complete.`);
  }

  return {
    push,
    end,
    get done() {
      return ended;
    },
  };
}

function toUsage(usage: Record<string, unknown> | undefined): TokenUsage | undefined {
  if (!usage) return undefined;
  // `tokens` counts what the model saw (the system preamble included); `billed_units` what is billed.
  const counts = (usage.tokens ?? usage.billed_units) as Record<string, unknown> | undefined;
  if (!counts) return undefined;
  const result: TokenUsage = { inputTokens: count(counts.input_tokens), outputTokens: count(counts.output_tokens) };
  if (typeof usage.cached_tokens === 'number') result.cachedInputTokens = count(usage.cached_tokens);
  return result;
}

function mapFinishReason(reason: string, sawToolCall: boolean): FinishReason {
  switch (reason) {
    case 'COMPLETE':
    case 'STOP_SEQUENCE':
      return sawToolCall ? 'tool_calls' : 'stop';
    case 'TOOL_CALL':
      return 'tool_calls';
    case 'MAX_TOKENS':
      return 'length';
    case 'ERROR_TOXIC':
      return 'content_filter';
    default:
      return sawToolCall ? 'tool_calls' : 'other';
  }
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0;
}
