import type { McpServer as McpServerType } from '@modelcontextprotocol/sdk/server/mcp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { z } from 'zod';
import type { ChatHandlerOptions } from '../../src/http/chat-handler-options.js';
import { createChatHandler } from '../../src/http/create-chat-handler.js';
import { type OpenTelemetryOptions, openTelemetry } from '../../src/telemetry/otel/index.js';
import { type FakeLlmServer, startFakeOpenAI } from '../fixtures/fake-openai-server.js';
import { startTestMcpHttpServer, type TestMcpHttpServer } from '../fixtures/test-mcp-server.js';
import { bearerUser, smartReply } from '../http/stack.js';

/** A metric reader collected on demand. */
export class TestMetricReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

/** One observed data point: its attributes and value (sum, or histogram count and sum). */
export interface Point {
  attributes: Record<string, unknown>;
  value: number;
  count?: number;
}

export interface OtelStack {
  llm: FakeLlmServer;
  mcp: TestMcpHttpServer;
  handler: ReturnType<typeof createChatHandler>;
  spans: InMemorySpanExporter;
  /** The `_meta` of every `tools/call` the MCP server received. */
  toolMeta: unknown[];
  /** Collects the metrics now: name → points. */
  metrics(): Promise<Map<string, Point[]>>;
  close(): Promise<void>;
}

/** An MCP server whose `add` tool records the request's `_meta`. */
function metaRecordingServer(toolMeta: unknown[]): McpServerType {
  const server = new McpServer({ name: 'meta-recorder', version: '1.0.0' });
  server.registerTool(
    'add',
    { description: 'Adds two numbers.', inputSchema: { a: z.number(), b: z.number() } },
    async ({ a, b }, extra) => {
      toolMeta.push(extra._meta);
      return { content: [{ type: 'text', text: String(a + b) }] };
    },
  );
  return server;
}

/** A fake OpenAI LLM, an MCP server that records `_meta`, and a handler traced into memory. */
export async function startOtelStack(
  telemetry: OpenTelemetryOptions = {},
  overrides: Partial<ChatHandlerOptions> = {},
): Promise<OtelStack> {
  const spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  const reader = new TestMetricReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const toolMeta: unknown[] = [];
  const llm = await startFakeOpenAI({ reply: smartReply });
  const mcp = await startTestMcpHttpServer({ createServer: () => metaRecordingServer(toolMeta) });
  const handler = createChatHandler({
    authenticate: bearerUser,
    models: [{ id: 'fake', provider: 'openai_compatible', baseUrl: llm.url, apiKey: 'sk-test' }],
    mcp: { defaultServer: { url: mcp.url } },
    keepAliveMs: 0,
    llm: { maxRetries: 0 },
    telemetry: openTelemetry({ tracerProvider, meterProvider, ...telemetry }),
    ...overrides,
  });
  return {
    llm,
    mcp,
    handler,
    spans,
    toolMeta,
    async metrics() {
      const { resourceMetrics } = await reader.collect();
      const byName = new Map<string, Point[]>();
      for (const scope of resourceMetrics.scopeMetrics) {
        for (const metric of scope.metrics) {
          const points = metric.dataPoints.map((point) => {
            const value = point.value as number | { count: number; sum?: number };
            return typeof value === 'number'
              ? { attributes: { ...point.attributes }, value }
              : { attributes: { ...point.attributes }, value: value.sum ?? 0, count: value.count };
          });
          byName.set(metric.descriptor.name, points);
        }
      }
      return byName;
    },
    async close() {
      await handler.close();
      await Promise.all([llm.close(), mcp.close(), tracerProvider.shutdown(), meterProvider.shutdown()]);
    },
  };
}
