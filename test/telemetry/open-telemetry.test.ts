import { trace } from '@opentelemetry/api';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ChatService } from '../../src/chat/chat-service.js';
import { openTelemetry } from '../../src/telemetry/otel/index.js';
import { type Frame, jsonRequest, readFrames } from '../http/stack.js';
import { type OtelStack, startOtelStack } from './otel-stack.js';

let stack: OtelStack | undefined;

afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

async function connect(s: OtelStack, user = 'ann') {
  const response = await s.handler.fetch(jsonRequest('/connect', user, { llm: { model: 'fake' } }));
  expect(response.status).toBe(200);
}

async function chat(s: OtelStack, message: string, user = 'ann'): Promise<Frame[]> {
  const response = await s.handler.fetch(jsonRequest('/chat', user, { message, streaming: true }));
  expect(response.status).toBe(200);
  return readFrames(response);
}

function byName(spans: ReadableSpan[], name: string): ReadableSpan[] {
  return spans.filter((span) => span.name === name);
}

function traceparentOf(span: ReadableSpan): string {
  const { traceId, spanId } = span.spanContext();
  return `00-${traceId}-${spanId}-01`;
}

describe('openTelemetry()', () => {
  it('traces a tool-using turn as invoke_agent → chat, execute_tool, chat, with GenAI attributes', async () => {
    stack = await startOtelStack();
    await connect(stack);
    const frames = await chat(stack, 'please add 2 and 3');
    expect(frames.at(-1)?.event).toBe('final');
    const toolStart = frames.find((frame) => frame.event === 'tool_start')?.data as { id: string };

    const spans = stack.spans.getFinishedSpans();
    const [turn] = byName(spans, 'invoke_agent mcp-llmchat');
    const chats = byName(spans, 'chat fake');
    const [tool] = byName(spans, 'execute_tool add');
    expect(turn).toBeDefined();
    expect(chats).toHaveLength(2);
    expect(tool).toBeDefined();
    expect(spans).toHaveLength(4);
    const turnId = turn?.spanContext().spanId;
    for (const child of [...chats, tool]) {
      expect(child?.parentSpanContext?.spanId).toBe(turnId);
      expect(child?.spanContext().traceId).toBe(turn?.spanContext().traceId);
    }
    expect(turn?.attributes).toMatchObject({
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.agent.name': 'mcp-llmchat',
      'gen_ai.request.model': 'fake',
      'gen_ai.provider.name': 'openai_compatible',
      'mcp_llmchat.turn.outcome': 'final',
    });
    expect(turn?.attributes['user.id']).toBeUndefined();
    expect(turn?.attributes['gen_ai.input.messages']).toBeUndefined();
    expect(turn?.attributes['gen_ai.output.messages']).toBeUndefined();
    expect(turn?.status.code).toBe(0);
    for (const call of chats) {
      expect(call.kind).toBe(2); // CLIENT
      expect(call.attributes).toMatchObject({
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'openai_compatible',
        'gen_ai.request.model': 'fake',
        'gen_ai.usage.input_tokens': 10,
        'gen_ai.usage.output_tokens': 5,
      });
      // Contents are recorded only when the host opts in.
      expect(call.attributes['gen_ai.input.messages']).toBeUndefined();
      expect(call.attributes['gen_ai.output.messages']).toBeUndefined();
    }
    const reasons = chats.map((call) => call.attributes['gen_ai.response.finish_reasons']);
    expect(reasons).toEqual(expect.arrayContaining([['tool_calls'], ['stop']]));
    expect(tool?.attributes).toMatchObject({
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'add',
      'gen_ai.tool.call.id': toolStart.id,
    });
    expect(tool?.attributes['gen_ai.tool.call.arguments']).toBeUndefined();

    // The trace crosses both hops: each LLM request carries its chat span, the tool call its tool span.
    const llmRequests = stack.llm.requests.slice(-2);
    expect(llmRequests.map((request) => request.headers.traceparent).sort()).toEqual(chats.map(traceparentOf).sort());
    expect(stack.toolMeta).toHaveLength(1);
    expect(stack.toolMeta[0]).toMatchObject({ traceparent: traceparentOf(tool as ReadableSpan) });

    const metrics = await stack.metrics();
    const tokens = metrics.get('gen_ai.client.token.usage') ?? [];
    expect(tokens.find((p) => p.attributes['gen_ai.token.type'] === 'input')).toMatchObject({ value: 20, count: 2 });
    expect(tokens.find((p) => p.attributes['gen_ai.token.type'] === 'output')).toMatchObject({ value: 10, count: 2 });
    const durations = metrics.get('gen_ai.client.operation.duration') ?? [];
    expect(durations.find((p) => p.attributes['gen_ai.operation.name'] === 'chat')?.count).toBe(2);
    expect(
      durations.find(
        (p) => p.attributes['gen_ai.operation.name'] === 'execute_tool' && p.attributes['gen_ai.tool.name'] === 'add',
      )?.count,
    ).toBe(1);
    expect(durations.find((p) => p.attributes['gen_ai.operation.name'] === 'invoke_agent')?.count).toBe(1);
    expect(metrics.get('gen_ai.client.operation.time_to_first_chunk')?.[0]?.count).toBe(1);
    expect(metrics.get('mcp_llmchat.turns')).toEqual([
      expect.objectContaining({
        value: 1,
        attributes: expect.objectContaining({ 'mcp_llmchat.turn.outcome': 'final' }),
      }),
    ]);
    expect(metrics.get('mcp_llmchat.turns.active')?.[0]?.value).toBe(0);
  });

  it('names a tool the model made up _OTHER, in spans and metrics alike', async () => {
    stack = await startOtelStack();
    await connect(stack);
    const invented = Array.from({ length: 20 }, (_, i) => `made_up_${i}_${'x'.repeat(2_000)}`);
    stack.llm.reply([
      { kind: 'tool_calls', calls: invented.map((name) => ({ name, arguments: {} })) },
      { kind: 'tool_calls', calls: [{ name: 'invented_but_tidy', arguments: {} }] },
      { kind: 'text', chunks: ['done'] },
    ]);
    const frames = await chat(stack, 'call whatever');
    expect(frames.at(-1)?.event).toBe('final');
    const spans = stack.spans.getFinishedSpans();
    const tools = spans.filter((span) => span.attributes['gen_ai.operation.name'] === 'execute_tool');
    expect(tools).toHaveLength(21);
    for (const span of tools) {
      expect(span.name).toBe('execute_tool _OTHER');
      expect(span.attributes['gen_ai.tool.name']).toBe('_OTHER');
    }
    const durations = (await stack.metrics()).get('gen_ai.client.operation.duration') ?? [];
    const toolSeries = durations.filter((p) => p.attributes['gen_ai.operation.name'] === 'execute_tool');
    expect(toolSeries.map((p) => p.attributes['gen_ai.tool.name'])).toEqual(['_OTHER']);
  });

  it('marks a failed turn and its LLM call with error.type and an error status', async () => {
    stack = await startOtelStack();
    await connect(stack);
    stack.llm.reply({ kind: 'http_error', status: 500 });
    const frames = await chat(stack, 'hello');
    expect(frames.at(-1)).toMatchObject({ event: 'error', data: { code: 'PROVIDER_ERROR' } });

    const spans = stack.spans.getFinishedSpans();
    const [turn] = byName(spans, 'invoke_agent mcp-llmchat');
    const [call] = byName(spans, 'chat fake');
    expect(turn?.status.code).toBe(2); // ERROR
    expect(turn?.attributes).toMatchObject({ 'error.type': 'PROVIDER_ERROR', 'mcp_llmchat.turn.outcome': 'error' });
    expect(call?.status.code).toBe(2);
    expect(call?.attributes['error.type']).toBe('PROVIDER_ERROR');
    expect(call?.parentSpanContext?.spanId).toBe(turn?.spanContext().spanId);

    const metrics = await stack.metrics();
    expect(metrics.get('mcp_llmchat.turns')).toEqual([
      expect.objectContaining({
        value: 1,
        attributes: expect.objectContaining({ 'mcp_llmchat.turn.outcome': 'error', 'error.type': 'PROVIDER_ERROR' }),
      }),
    ]);
    expect(metrics.get('mcp_llmchat.turns.active')?.[0]?.value).toBe(0);
  });

  it('ends a stopped turn as stopped, not as an error, and ends its LLM call span', async () => {
    stack = await startOtelStack();
    await connect(stack);
    const response = await stack.handler.fetch(
      jsonRequest('/chat', 'ann', { message: 'say it slowly', streaming: true }),
    );
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let seen = '';
    while (!seen.includes('event: token')) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += decoder.decode(value, { stream: true });
    }
    // Since resumable turns, leaving does not stop a turn: POST /stop does.
    expect((await stack.handler.fetch(jsonRequest('/stop', 'ann', {}))).status).toBe(200);
    await reader.cancel();
    const current = stack;
    await vi.waitFor(() =>
      expect(byName(current.spans.getFinishedSpans(), 'invoke_agent mcp-llmchat')).toHaveLength(1),
    );

    const spans = stack.spans.getFinishedSpans();
    const [turn] = byName(spans, 'invoke_agent mcp-llmchat');
    const [call] = byName(spans, 'chat fake');
    expect(turn?.attributes['mcp_llmchat.turn.outcome']).toBe('stopped');
    expect(turn?.status.code).not.toBe(2);
    expect(turn?.attributes['error.type']).toBeUndefined();
    expect(call?.attributes['error.type']).toBe('ABORTED');
    const metrics = await stack.metrics();
    expect(
      metrics.get('mcp_llmchat.turns')?.find((p) => p.attributes['mcp_llmchat.turn.outcome'] === 'stopped')?.value,
    ).toBe(1);
    expect(metrics.get('mcp_llmchat.turns.active')?.[0]?.value).toBe(0);
  });

  it('records contents and the user id only when the host opts in', async () => {
    stack = await startOtelStack({ recordContent: true, recordUserId: true });
    await connect(stack);
    await chat(stack, 'please add 2 and 3');
    const spans = stack.spans.getFinishedSpans();
    const [turn] = byName(spans, 'invoke_agent mcp-llmchat');
    const [first] = byName(spans, 'chat fake');
    const [tool] = byName(spans, 'execute_tool add');
    expect(turn?.attributes['user.id']).toBe('ann');
    expect(String(turn?.attributes['gen_ai.input.messages'])).toContain('please add 2 and 3');
    expect(String(turn?.attributes['gen_ai.output.messages'])).toContain('The result is 5.');
    expect(String(first?.attributes['gen_ai.input.messages'])).toContain('please add 2 and 3');
    expect(JSON.parse(String(tool?.attributes['gen_ai.tool.call.arguments']))).toEqual({ a: 2, b: 3 });
    expect(tool?.attributes['gen_ai.tool.call.result']).toBe('5');
  });

  it('keeps recorded contents within maxContentLength, still JSON, newest messages first', async () => {
    stack = await startOtelStack({ recordContent: true, maxContentLength: 1_000 });
    await connect(stack);
    const frames = await chat(stack, `please add 2 and 3 ${'x'.repeat(20_000)}`);
    expect(frames.at(-1)?.event).toBe('final');
    const spans = stack.spans.getFinishedSpans();
    const [turn] = byName(spans, 'invoke_agent mcp-llmchat');
    const [, second] = byName(spans, 'chat fake');
    const turnInput = String(turn?.attributes['gen_ai.input.messages']);
    expect(turnInput.length).toBeLessThanOrEqual(1_000);
    expect(JSON.parse(turnInput)[0].parts[0].content).toMatch(/characters not recorded\]$/);
    // The second call's messages: the long user message is cut to fit beside the tool exchange.
    const callInput = String(second?.attributes['gen_ai.input.messages']);
    expect(callInput.length).toBeLessThanOrEqual(1_000);
    const messages = JSON.parse(callInput);
    expect(messages[0]).toMatchObject({ role: 'user', content: expect.stringMatching(/characters not recorded\]$/) });
    expect(messages.at(-1)).toMatchObject({ role: 'tool', content: '5' });
    expect(() => openTelemetry({ maxContentLength: 0 })).toThrow(/maxContentLength/);
  });

  it('sends no trace context when propagation is off', async () => {
    stack = await startOtelStack({ propagate: false });
    await connect(stack);
    await chat(stack, 'please add 2 and 3');
    expect(stack.llm.requests.at(-1)?.headers.traceparent).toBeUndefined();
    expect(stack.toolMeta[0]).toBeUndefined();
    expect(stack.spans.getFinishedSpans()).toHaveLength(4);
  });
});

describe('openTelemetry() under ChatService alone', () => {
  it('names the conversation on the turn and call spans when the turn has one', async () => {
    const spans = new InMemorySpanExporter();
    const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
    const observer = openTelemetry({ tracerProvider });
    const service = new ChatService({
      provider: {
        kind: 'anthropic',
        async *stream() {
          yield { type: 'text', text: 'hi' } as const;
          yield {
            type: 'usage',
            usage: { inputTokens: 100, outputTokens: 4, cachedInputTokens: 60, cacheWriteInputTokens: 30 },
          } as const;
          yield { type: 'finish', reason: 'stop' } as const;
        },
      },
      model: 'claude-x',
      tools: {
        listTools: () => [],
        callTool: async () => ({ text: '', output: '', isError: false }),
        close: async () => {},
      },
    });
    const hooks = observer.startTurn({
      userId: 'u',
      modelId: 'claude',
      conversationId: 'trip-42',
      streaming: true,
      message: 'x',
    });
    for await (const _ of service.chat('x', hooks ? { hooks } : {})) {
      // drain
    }
    const [turn] = byName(spans.getFinishedSpans(), 'invoke_agent mcp-llmchat');
    const [call] = byName(spans.getFinishedSpans(), 'chat claude-x');
    expect(turn?.attributes['gen_ai.conversation.id']).toBe('trip-42');
    expect(call?.attributes).toMatchObject({
      'gen_ai.conversation.id': 'trip-42',
      'gen_ai.provider.name': 'anthropic',
      'gen_ai.usage.input_tokens': 100,
      'gen_ai.usage.cache_read.input_tokens': 60,
      'gen_ai.usage.cache_creation.input_tokens': 30,
    });
    await tracerProvider.shutdown();
  });
});

describe('openTelemetry() with no SDK registered', () => {
  afterEach(() => {
    trace.disable();
  });

  it('observes no turn (so turns pay nothing) until a tracer provider is registered globally', async () => {
    const observer = openTelemetry();
    const info = { userId: 'u', modelId: 'm', streaming: true, message: 'x' };
    expect(observer.startTurn(info)).toBeUndefined();

    const spans = new InMemorySpanExporter();
    const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
    expect(trace.setGlobalTracerProvider(tracerProvider)).toBe(true);
    const hooks = observer.startTurn(info);
    expect(hooks?.llmCall).toBeTypeOf('function');
    hooks?.end?.({ status: 'final', text: 'hi' });
    expect(byName(spans.getFinishedSpans(), 'invoke_agent mcp-llmchat')).toHaveLength(1);
    await tracerProvider.shutdown();
  });

  it('observes turns when only a meter provider is given', () => {
    const observer = openTelemetry({ meterProvider: new MeterProvider() });
    expect(observer.startTurn({ userId: 'u', modelId: 'm', streaming: true, message: 'x' })).toBeDefined();
  });
});
