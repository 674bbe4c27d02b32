import {
  type Attributes,
  type Context,
  context,
  createNoopMeter,
  isSpanContextValid,
  type MeterProvider,
  metrics,
  ProxyTracerProvider,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import { isLlmChatError } from '../../errors.js';
import { copyWith } from '../../internal/copy-with.js';
import type {
  LlmCallHooks,
  LlmCallInfo,
  ToolCallHooks,
  ToolCallInfo,
  TurnHooks,
  TurnInfo,
  TurnObserver,
  TurnOutcome,
} from '../turn-observer.js';
import { createChatInstruments } from './chat-instruments.js';
import { providerName } from './provider-name.js';
import { checkMaxContentLength, recordedJson, recordedMessages, recordedText } from './recorded-content.js';

/** Options of {@link openTelemetry}. */
export interface OpenTelemetryOptions {
  /** Where spans go. @default the global tracer provider (`trace.getTracerProvider()`) */
  tracerProvider?: TracerProvider;
  /** Where metrics go. @default the global meter provider (`metrics.getMeterProvider()`) */
  meterProvider?: MeterProvider;
  /**
   * Records message contents, tool arguments and tool results on the spans
   * (`gen_ai.input.messages`, `gen_ai.output.messages`, `gen_ai.tool.call.arguments`,
   * `gen_ai.tool.call.result`). They may hold personal data. @default false
   */
  recordContent?: boolean;
  /**
   * With `recordContent`, the most characters one such attribute keeps. Longer text is cut (the
   * cut said at its end); JSON stays JSON: long strings in it are cut, images are recorded as
   * their type and size, and an LLM call's messages keep the newest that fit, the first entry
   * counting the ones left out (`omitted_messages`). At least 256; `Infinity` keeps everything
   * (tool results and whole conversations, on every call's span). @default 32768
   */
  maxContentLength?: number;
  /** Records the user's id as `user.id` on the turn span. @default false */
  recordUserId?: boolean;
  /**
   * Sends the W3C trace context of each call to the LLM provider (`traceparent` header) and to
   * MCP servers (`params._meta.traceparent`). @default true
   */
  propagate?: boolean;
  /** `gen_ai.agent.name` of the turn spans. @default 'mcp-llmchat' */
  agentName?: string;
}

const SCOPE = 'mcp-llmchat';

/**
 * Traces and metrics of every chat turn through `@opentelemetry/api`, named and attributed by
 * the OpenTelemetry GenAI semantic conventions. Pass it as the handler's `telemetry` option.
 * Only the API is used: spans and metrics go wherever the host's SDK sends them. When the host
 * registered no provider for either, turns are not observed at all and cost nothing.
 *
 * Spans: a turn is `invoke_agent <agentName>` (INTERNAL), with a child `chat <model>` (CLIENT)
 * per LLM call and `execute_tool <tool>` (INTERNAL) per tool call. Metrics:
 * `gen_ai.client.token.usage`, `gen_ai.client.operation.duration` (chat, execute_tool,
 * invoke_agent), `gen_ai.client.operation.time_to_first_chunk`, `mcp_llmchat.turns` (by
 * outcome) and `mcp_llmchat.turns.active`.
 *
 * @example
 * import { openTelemetry } from 'mcp-llmchat/otel';
 * const handler = createChatHandler({ authenticate, models, telemetry: openTelemetry() });
 */
export function openTelemetry(options: OpenTelemetryOptions = {}): TurnObserver {
  const tracerProvider = options.tracerProvider ?? trace.getTracerProvider();
  const tracer = tracerProvider.getTracer(SCOPE);
  const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(SCOPE);
  const instruments = createChatInstruments(meter);
  const agentName = options.agentName ?? SCOPE;
  const propagate = options.propagate !== false;
  const recordContent = options.recordContent === true;
  const maxContent = checkMaxContentLength(options.maxContentLength);

  return {
    startTurn(info: TurnInfo): TurnHooks | undefined {
      // With no SDK registered every span and instrument is a no-op: skip the turn, so it pays
      // nothing (no wrapped LLM stream). Checked per turn: a tracer provider registered later
      // is picked up by the global proxy.
      if (recordsNothing(tracerProvider, meter)) return undefined;
      const parent = context.active();
      const started = performance.now();
      const attributes: Attributes = {
        'gen_ai.operation.name': 'invoke_agent',
        'gen_ai.agent.name': agentName,
        'gen_ai.request.model': info.modelId,
      };
      if (info.conversationId !== undefined) attributes['gen_ai.conversation.id'] = info.conversationId;
      if (options.recordUserId) attributes['user.id'] = info.userId;
      if (recordContent) {
        attributes['gen_ai.input.messages'] = recordedMessages(
          [{ role: 'user', parts: [{ type: 'text', content: info.message }] }],
          maxContent,
        );
      }
      const turnSpan = tracer.startSpan(`invoke_agent ${agentName}`, { kind: SpanKind.INTERNAL, attributes }, parent);
      const turnContext = trace.setSpan(parent, turnSpan);
      let provider: string | undefined;
      instruments.activeTurns.add(1);

      return {
        llmCall(call: LlmCallInfo): LlmCallHooks {
          provider = providerName(call.provider);
          return llmCallHooks(call, provider);
        },
        toolCall(call: ToolCallInfo): ToolCallHooks {
          return toolCallHooks(call);
        },
        end(outcome: TurnOutcome) {
          instruments.activeTurns.add(-1);
          const metricAttributes: Attributes = { 'gen_ai.operation.name': 'invoke_agent' };
          if (provider) metricAttributes['gen_ai.provider.name'] = provider;
          metricAttributes['gen_ai.request.model'] = info.modelId;
          if (provider) turnSpan.setAttribute('gen_ai.provider.name', provider);
          turnSpan.setAttribute('mcp_llmchat.turn.outcome', outcome.status);
          if (outcome.status === 'error') {
            turnSpan.setAttribute('error.type', outcome.code);
            turnSpan.setStatus({ code: SpanStatusCode.ERROR, message: outcome.code });
            metricAttributes['error.type'] = outcome.code;
          }
          if (recordContent)
            turnSpan.setAttribute('gen_ai.output.messages', outputMessages(outcome.text, 0, maxContent));
          instruments.duration.record(seconds(started), metricAttributes);
          instruments.turns.add(1, copyWith(metricAttributes, { 'mcp_llmchat.turn.outcome': outcome.status }));
          turnSpan.end();
        },
      };

      function llmCallHooks(call: LlmCallInfo, providerId: string): LlmCallHooks {
        const callStarted = performance.now();
        const common: Attributes = {
          'gen_ai.operation.name': 'chat',
          'gen_ai.provider.name': providerId,
          'gen_ai.request.model': call.model,
        };
        const spanAttributes: Attributes = { ...common };
        if (info.conversationId !== undefined) spanAttributes['gen_ai.conversation.id'] = info.conversationId;
        if (call.request.temperature !== undefined)
          spanAttributes['gen_ai.request.temperature'] = call.request.temperature;
        if (call.request.maxTokens !== undefined) spanAttributes['gen_ai.request.max_tokens'] = call.request.maxTokens;
        if (recordContent)
          spanAttributes['gen_ai.input.messages'] = recordedMessages(call.request.messages, maxContent);
        const span = tracer.startSpan(
          `chat ${call.model}`,
          { kind: SpanKind.CLIENT, attributes: spanAttributes },
          turnContext,
        );
        const hooks: LlmCallHooks = {
          firstToken() {
            instruments.timeToFirstChunk.record(seconds(callStarted), common);
          },
          end(result) {
            const metricAttributes: Attributes = { ...common };
            if (result.usage) {
              span.setAttributes({
                'gen_ai.usage.input_tokens': result.usage.inputTokens,
                'gen_ai.usage.output_tokens': result.usage.outputTokens,
              });
              if (result.usage.cachedInputTokens !== undefined) {
                span.setAttribute('gen_ai.usage.cache_read.input_tokens', result.usage.cachedInputTokens);
              }
              if (result.usage.cacheWriteInputTokens !== undefined) {
                span.setAttribute('gen_ai.usage.cache_creation.input_tokens', result.usage.cacheWriteInputTokens);
              }
              instruments.tokenUsage.record(
                result.usage.inputTokens,
                copyWith(common, { 'gen_ai.token.type': 'input' }),
              );
              instruments.tokenUsage.record(
                result.usage.outputTokens,
                copyWith(common, { 'gen_ai.token.type': 'output' }),
              );
            }
            if (result.finishReason) span.setAttribute('gen_ai.response.finish_reasons', [result.finishReason]);
            if (recordContent) {
              span.setAttribute('gen_ai.output.messages', outputMessages(result.text, result.toolCalls, maxContent));
            }
            if (result.error !== undefined) {
              const type = errorType(result.error);
              failSpan(span, type);
              metricAttributes['error.type'] = type;
            }
            instruments.duration.record(seconds(callStarted), metricAttributes);
            span.end();
          },
        };
        if (propagate) hooks.headers = traceContextOf(trace.setSpan(turnContext, span), span);
        return hooks;
      }

      function toolCallHooks(call: ToolCallInfo): ToolCallHooks {
        const callStarted = performance.now();
        const toolName = toolNameAttribute(call);
        const attributes: Attributes = {
          'gen_ai.operation.name': 'execute_tool',
          'gen_ai.tool.name': toolName,
          'gen_ai.tool.call.id': call.id,
          'gen_ai.tool.type': 'extension',
        };
        if (recordContent) attributes['gen_ai.tool.call.arguments'] = recordedJson(call.arguments, maxContent);
        const span = tracer.startSpan(`execute_tool ${toolName}`, { kind: SpanKind.INTERNAL, attributes }, turnContext);
        const hooks: ToolCallHooks = {
          end(result) {
            const metricAttributes: Attributes = {
              'gen_ai.operation.name': 'execute_tool',
              'gen_ai.tool.name': toolName,
            };
            if (recordContent && result.text !== undefined)
              span.setAttribute('gen_ai.tool.call.result', recordedText(result.text, maxContent));
            if (result.isError) {
              const type = result.error === undefined ? 'TOOL_ERROR' : errorType(result.error);
              failSpan(span, type);
              metricAttributes['error.type'] = type;
            }
            instruments.duration.record(seconds(callStarted), metricAttributes);
            span.end();
          },
        };
        if (propagate) hooks.meta = traceContextOf(trace.setSpan(turnContext, span), span);
        return hooks;
      }
    },
  };
}

// The API's own no-op tracer provider: what the global proxy delegates to until an SDK registers.
const NOOP_TRACER_PROVIDER = new ProxyTracerProvider().getDelegate();

/** Whether spans and metrics would all go nowhere (no SDK registered for either). */
function recordsNothing(tracerProvider: TracerProvider, meter: ReturnType<typeof createNoopMeter>): boolean {
  const tracers = tracerProvider instanceof ProxyTracerProvider ? tracerProvider.getDelegate() : tracerProvider;
  return tracers === NOOP_TRACER_PROVIDER && meter === createNoopMeter();
}

/**
 * The W3C trace context of `span`: through the host's propagator when it registered one, else
 * written directly, so the hop carries `traceparent` either way.
 */
function traceContextOf(spanContext: Context, span: Span): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(spanContext, carrier);
  const ids = span.spanContext();
  if (carrier.traceparent === undefined && isSpanContextValid(ids)) {
    carrier.traceparent = `00-${ids.traceId}-${ids.spanId}-${(ids.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
  }
  return carrier;
}

// The form every tool name an MCP session offers has (see `uniqueToolNames`).
const OFFERED_TOOL_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * `gen_ai.tool.name` for a call: the tool's name, or `_OTHER` (as the GenAI conventions spell a
 * value outside the known set) for a name the model made up. Such a name is the model's text:
 * kept, every invented name would open a metric series of its own, and span names of any length.
 */
function toolNameAttribute(call: ToolCallInfo): string {
  // Unknown to the caller: only a name of the offered form is taken for one.
  return (call.listed ?? OFFERED_TOOL_NAME.test(call.name)) ? call.name : '_OTHER';
}

function failSpan(span: Span, type: string): void {
  span.setAttribute('error.type', type);
  span.setStatus({ code: SpanStatusCode.ERROR, message: type });
}

/** The library's stable error code, or `_OTHER` as the conventions ask for unknown errors. */
function errorType(error: unknown): string {
  return isLlmChatError(error) ? error.code : '_OTHER';
}

function outputMessages(text: string, toolCalls: number, max: number): string {
  return recordedJson([{ role: 'assistant', parts: [{ type: 'text', content: text }], tool_calls: toolCalls }], max);
}

function seconds(since: number): number {
  return (performance.now() - since) / 1000;
}
