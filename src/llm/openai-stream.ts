import type { EventSourceMessage } from 'eventsource-parser';
import { LlmChatError } from '../errors.js';
import type { TokenUsage } from '../types.js';
import type { FinishReason, LlmStreamEvent } from './llm-provider.js';
import { parseStreamJson } from './parse-stream-json.js';
import { parseToolArguments } from './parse-tool-arguments.js';
import { extractProviderMessage, redactProviderMessage } from './redact-provider-message.js';
import type { StreamParser } from './stream-parser.js';
import { StringSlotTemplate } from './string-slot-template.js';
import { withTemplatedText } from './templated-text-push.js';
import { ToolCallBudget } from './tool-call-budget.js';

interface PartialToolCall {
  id: string;
  name: string;
  arguments: string;
}

/**
 * Turns a Chat Completions stream (`chat.completion.chunk` objects, then `data: [DONE]`) into
 * normalized events.
 *
 * - `choices[0].delta.content` → `text`; `reasoning_content` / `reasoning`, and Mistral's
 *   `thinking` content parts, → `reasoning`, never part of the answer.
 * - `delta.tool_calls` fragments are assembled per `index` (id and name come first, the
 *   arguments in pieces) and emitted as complete `tool_call`s once `finish_reason` arrives.
 *   Servers that omit `index` are handled: a fragment with a new id starts a call, one without
 *   continues the last.
 * - A `usage` object (the final `choices: []` chunk of `include_usage`, or Groq's `x_groq.usage`)
 *   → `usage`, with `prompt_tokens_details.cached_tokens` as the cached input.
 * - `finish` comes last, after the usage chunk that follows `finish_reason`.
 *
 * A stream that ends with neither `finish_reason` nor `[DONE]` was cut: `PROVIDER_ERROR`, as
 * are bad JSON and an `error` object sent mid-stream (vLLM, OpenRouter and others do that), and
 * tool calls past the bounds of {@link ToolCallBudget}.
 */
export function createOpenAIStreamParser(label: string, secrets: readonly string[] = []): StreamParser {
  const calls: PartialToolCall[] = [];
  const byIndex = new Map<number, PartialToolCall>();
  // Bounds `calls` and their arguments: a stream that keeps sending must not grow them forever.
  const budget = new ToolCallBudget(label);
  let finish: FinishReason | undefined;
  let sawDone = false;
  let emittedCalls = 0;
  // Most chunks are the previous one with another token: read those without parsing them.
  const textChunk = new StringSlotTemplate('"content":"', (chunk) => deltaOf(firstChoice(chunk))?.content);

  function* flushCalls(): Generator<LlmStreamEvent> {
    for (const call of calls.slice(emittedCalls)) {
      if (call.name === '')
        throw new LlmChatError('PROVIDER_ERROR', `The ${label} model sent a tool call without a name.`);
      yield {
        type: 'tool_call',
        id: call.id,
        name: call.name,
        arguments: parseToolArguments(call.arguments, label, call.name),
      };
    }
    emittedCalls = calls.length;
  }

  function* parse(message: EventSourceMessage): Generator<LlmStreamEvent> {
    if (message.data.length < 16 && message.data.trim() === '[DONE]') {
      sawDone = true;
      return;
    }
    const chunk = parseStreamJson(message.data, label);
    if ((chunk.error !== undefined && chunk.error !== null) || Array.isArray(chunk.errors)) {
      const detail = redactProviderMessage(extractProviderMessage(chunk), secrets);
      throw new LlmChatError('PROVIDER_ERROR', `The ${label} API reported an error${detail ? `: ${detail}` : '.'}`);
    }

    const choice = firstChoice(chunk);
    if (choice) {
      const delta = (choice.delta ?? {}) as Record<string, unknown>;
      // DeepSeek and older vLLM say `reasoning_content`; Ollama, newer vLLM and Groq `reasoning`.
      const reasoning = delta.reasoning_content ?? delta.reasoning;
      if (typeof reasoning === 'string' && reasoning !== '') yield { type: 'reasoning', text: reasoning };
      if (typeof delta.content === 'string') {
        if (delta.content !== '') yield { type: 'text', text: delta.content };
      } else if (Array.isArray(delta.content)) {
        yield* contentParts(delta.content);
      }
      if (Array.isArray(delta.tool_calls)) {
        for (const fragment of delta.tool_calls as unknown[]) {
          // What is not a JSON object (null, a bare value) says nothing about a call: skipped, as
          // unknown fields are.
          if (isObject(fragment)) addFragment(fragment);
        }
      }
      if (typeof choice.finish_reason === 'string') {
        yield* flushCalls();
        finish = mapFinishReason(choice.finish_reason, calls.length > 0);
      }
    }

    // Groq reports usage in `x_groq` unless asked with stream_options; never count it twice.
    const usage = (chunk.usage ?? (chunk.x_groq as Record<string, unknown> | undefined)?.usage) as
      | Record<string, unknown>
      | null
      | undefined;
    if (usage && typeof usage === 'object') yield { type: 'usage', usage: toUsage(usage) };
    else if (isPlainText(choice)) textChunk.learn(message.data, chunk);
  }

  function* end(): Generator<LlmStreamEvent> {
    if (!sawDone && finish === undefined) {
      throw new LlmChatError('PROVIDER_ERROR', `The ${label} stream ended before the answer was complete.`);
    }
    if (finish === undefined) {
      // [DONE] without finish_reason: some compatible servers skip it.
      yield* flushCalls();
      finish = calls.length > 0 ? 'tool_calls' : 'stop';
    }
    yield { type: 'finish', reason: finish };
  }

  return {
    // A chunk the text template matches (never `[DONE]`) is read without `parse`.
    push: withTemplatedText(textChunk, parse),
    end,
    get done() {
      return sawDone;
    },
  };

  function addFragment(fragment: Record<string, unknown>): void {
    const fn = (fragment.function ?? {}) as Record<string, unknown>;
    const id = typeof fragment.id === 'string' && fragment.id !== '' ? fragment.id : undefined;
    let call: PartialToolCall | undefined;
    if (typeof fragment.index === 'number') {
      call = byIndex.get(fragment.index);
      if (!call) {
        budget.openCall();
        call = { id: id ?? `call_${calls.length}`, name: '', arguments: '' };
        byIndex.set(fragment.index, call);
        calls.push(call);
      }
    } else {
      const last = calls.at(-1);
      if (last && (id === undefined || id === last.id)) call = last;
      else {
        budget.openCall();
        call = { id: id ?? `call_${calls.length}`, name: '', arguments: '' };
        calls.push(call);
      }
    }
    if (id !== undefined) call.id = id;
    if (typeof fn.name === 'string' && fn.name !== '') call.name = call.name === '' ? fn.name : call.name;
    if (typeof fn.arguments === 'string') {
      budget.addArguments(fn.arguments.length);
      call.arguments += fn.arguments;
    } else if (typeof fn.arguments === 'object' && fn.arguments !== null) {
      call.arguments = JSON.stringify(fn.arguments);
      budget.addArguments(call.arguments.length);
    }
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The choice a stream is read from: requests never ask for n > 1, so the one at index 0. */
function firstChoice(chunk: Record<string, unknown>): Record<string, unknown> | undefined {
  const choices = Array.isArray(chunk.choices) ? (chunk.choices as Record<string, unknown>[]) : [];
  return choices.find((c) => (c?.index ?? 0) === 0);
}

function deltaOf(choice: Record<string, unknown> | undefined): Record<string, unknown> | null | undefined {
  return choice?.delta as Record<string, unknown> | null | undefined;
}

/**
 * Whether a parsed chunk (with no error and no usage) carried answer text and nothing else: no
 * reasoning, no tool-call fragment, no finish reason. Only such a chunk may teach the text
 * template, since a chunk it matches is read as text alone.
 */
function isPlainText(choice: Record<string, unknown> | undefined): boolean {
  if (!choice || typeof choice.finish_reason === 'string') return false;
  const delta = deltaOf(choice);
  if (typeof delta?.content !== 'string' || Array.isArray(delta.tool_calls)) return false;
  const reasoning = delta.reasoning_content ?? delta.reasoning;
  return typeof reasoning !== 'string' || reasoning === '';
}

/**
 * Content sent as parts (Mistral's reasoning models): `text` parts are answer text, `thinking`
 * parts (themselves lists of text parts) are reasoning.
 */
function* contentParts(parts: unknown[]): Generator<LlmStreamEvent> {
  for (const part of parts as Record<string, unknown>[]) {
    if (part?.type === 'text' && typeof part.text === 'string' && part.text !== '') {
      yield { type: 'text', text: part.text };
    } else if (part?.type === 'thinking' && Array.isArray(part.thinking)) {
      for (const inner of part.thinking as Record<string, unknown>[]) {
        if (typeof inner?.text === 'string' && inner.text !== '') yield { type: 'reasoning', text: inner.text };
      }
    }
  }
}

function mapFinishReason(reason: string, hasToolCalls: boolean): FinishReason {
  switch (reason) {
    case 'stop':
      // Some servers (older Ollama) report 'stop' even when the model called tools.
      return hasToolCalls ? 'tool_calls' : 'stop';
    case 'tool_calls':
    case 'function_call':
      return 'tool_calls';
    case 'length':
      return 'length';
    case 'content_filter':
      return 'content_filter';
    default:
      return 'other';
  }
}

function toUsage(usage: Record<string, unknown>): TokenUsage {
  const result: TokenUsage = {
    inputTokens: toCount(usage.prompt_tokens),
    outputTokens: toCount(usage.completion_tokens),
  };
  // OpenAI (and Azure, Groq, vLLM) nest it; DeepSeek names it its own way.
  const details = usage.prompt_tokens_details as Record<string, unknown> | null | undefined;
  const cached = details?.cached_tokens ?? usage.prompt_cache_hit_tokens;
  if (typeof cached === 'number') result.cachedInputTokens = toCount(cached);
  return result;
}

function toCount(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0;
}
