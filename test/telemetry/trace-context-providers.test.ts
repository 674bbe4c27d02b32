import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChatHandler } from '../../src/http/create-chat-handler.js';
import { openTelemetry } from '../../src/telemetry/otel/index.js';
import type { FakeLlmServer, FakeReply, RecordedRequest } from '../fixtures/fake-llm-common.js';
import { PROVIDERS, type ProviderUnderTest } from '../fixtures/providers.js';
import { startTestMcpHttpServer, type TestMcpHttpServer } from '../fixtures/test-mcp-server.js';
import { jsonRequest, readFrames } from '../http/stack.js';

// Every provider of the provider table sends the W3C trace context of its chat span with each
// LLM request of a tool-using turn, so a trace crosses the hop whatever the provider.
describe.each(PROVIDERS.map((entry) => ({ ...entry, title: entry.name ?? entry.id })))(
  '$title carries traceparent',
  (entry: ProviderUnderTest) => {
    let llm: FakeLlmServer;
    let mcp: TestMcpHttpServer;
    let handler: ReturnType<typeof createChatHandler>;
    const spans = new InMemorySpanExporter();
    const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });

    const respond = (request: RecordedRequest): FakeReply => {
      const turn = entry.lastTurn(request);
      return turn.kind === 'tool_results'
        ? { kind: 'text', chunks: ['The result', ` is ${turn.results.join(', ')}.`] }
        : { kind: 'tool_calls', calls: [{ name: 'add', arguments: { a: 2, b: 3 } }] };
    };

    beforeAll(async () => {
      llm = await entry.start(respond);
      mcp = await startTestMcpHttpServer();
      handler = createChatHandler({
        authenticate: (request) => (request.headers.get('authorization') ? { id: 'ann' } : null),
        models: [entry.model(llm, { id: 'm' })],
        mcp: { defaultServer: { url: mcp.url } },
        keepAliveMs: 0,
        telemetry: openTelemetry({ tracerProvider }),
      });
    });
    afterAll(async () => {
      await handler.close();
      await Promise.all([llm.close(), mcp.close(), tracerProvider.shutdown()]);
    });

    it('on every LLM request of the turn, naming that call’s span', async () => {
      expect((await handler.fetch(jsonRequest('/connect', 'ann', { llm: { model: 'm' } }))).status).toBe(200);
      const frames = await readFrames(
        await handler.fetch(jsonRequest('/chat', 'ann', { message: 'please add 2 and 3', streaming: true })),
      );
      expect(frames.at(-1)?.event).toBe('final');
      const calls = spans.getFinishedSpans().filter((span) => span.name.startsWith('chat '));
      expect(calls).toHaveLength(2);
      const expected = calls.map((span) => `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`);
      const sent = llm.requests.map((request) => request.headers.traceparent).filter((value) => value !== undefined);
      expect(sent.sort()).toEqual(expected.sort());
    });
  },
);
