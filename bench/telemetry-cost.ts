/**
 * `npx tsx bench/telemetry-cost.ts`: what the turn observers cost in ChatService (issue 16).
 *
 * Interleaved in one process, on an in-memory provider (no sockets, so the loop's own cost is
 * all there is to see): a relay turn of 20,000 one-word tokens, and the time to the first token
 * of a short turn. Three setups: no `hooks` (telemetry off, the default), `openTelemetry()` with
 * no SDK registered (the API's no-op tracer and meter), and `openTelemetry()` on a real
 * BasicTracerProvider + MeterProvider. Medians of each; prints a Markdown table.
 *
 * `--baseline DIR` adds the ChatService of another checkout's `DIR/src` (for example the commit
 * before the hooks, unpacked with `git archive <commit> src | tar -x -C DIR`), run without hooks.
 */
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ChatService } from '../src/chat/chat-service.js';
import type { LlmProvider, LlmRequest, LlmStreamEvent } from '../src/llm/llm-provider.js';
import type { ToolSource } from '../src/mcp/tool-source.js';
import { openTelemetry } from '../src/telemetry/otel/index.js';
import type { TurnHooks } from '../src/telemetry/turn-observer.js';

class Reader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

function provider(tokens: number): LlmProvider {
  return {
    kind: 'openai',
    async *stream(_request: LlmRequest): AsyncIterable<LlmStreamEvent> {
      for (let i = 0; i < tokens; i++) yield { type: 'text', text: 'w ' };
      yield { type: 'usage', usage: { inputTokens: 10, outputTokens: tokens } };
      yield { type: 'finish', reason: 'stop' };
    },
  };
}

const tools: ToolSource = {
  listTools: () => [],
  callTool: async () => ({ text: '', output: '', isError: false }),
  close: async () => {},
};
const spans = new InMemorySpanExporter();
const sdkTelemetry = openTelemetry({
  tracerProvider: new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }),
  meterProvider: new MeterProvider({ readers: [new Reader()] }),
});
const noopTelemetry = openTelemetry();
const setups: Record<string, () => TurnHooks | undefined> = {
  'telemetry off (default)': () => undefined,
  'openTelemetry(), no SDK': () =>
    noopTelemetry.startTurn({ userId: 'u', modelId: 'm', streaming: true, message: 'x' }),
  'openTelemetry(), SDK in memory': () => {
    spans.reset();
    return sdkTelemetry.startTurn({ userId: 'u', modelId: 'm', streaming: true, message: 'x' });
  },
};

async function relayMs(service: Service, hooks: TurnHooks | undefined): Promise<number> {
  const started = performance.now();
  for await (const _ of service.chat('go', hooks ? { hooks } : {})) {
    // drain
  }
  return performance.now() - started;
}

async function firstTokenMs(service: Service, hooks: TurnHooks | undefined): Promise<number> {
  const started = performance.now();
  let first = 0;
  for await (const event of service.chat('go', hooks ? { hooks } : {})) {
    if (first === 0 && event.type === 'token') first = performance.now() - started;
  }
  return first;
}

const baselineIndex = process.argv.indexOf('--baseline');
const baselineDir = baselineIndex >= 0 ? process.argv[baselineIndex + 1] : undefined;
type Service = Pick<ChatService, 'chat'>;
const Baseline: (new (options: ConstructorParameters<typeof ChatService>[0]) => Service) | undefined = baselineDir
  ? ((await import(`${baselineDir}/src/chat/chat-service.ts`)) as { ChatService: typeof ChatService }).ChatService
  : undefined;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const services = (Service: new (options: ConstructorParameters<typeof ChatService>[0]) => Service) => ({
  relay: new Service({ provider: provider(20_000), model: 'm', tools }),
  short: new Service({ provider: provider(5), model: 'm', tools }),
});
const current = services(ChatService);
const runs: [string, ReturnType<typeof services>, () => TurnHooks | undefined][] = Object.entries(setups).map(
  ([name, hooks]) => [name, current, hooks],
);
if (Baseline) runs.unshift([`baseline (${baselineDir}), no hooks`, services(Baseline), () => undefined]);
const results = new Map<string, { relay: number[]; first: number[] }>();
for (const [name] of runs) results.set(name, { relay: [], first: [] });
for (let round = 0; round < 60; round++) {
  for (const [name, { relay, short }, hooks] of runs) {
    const bucket = results.get(name) as { relay: number[]; first: number[] };
    const relayTime = await relayMs(relay, hooks());
    for (let i = 0; i < 20; i++) bucket.first.push(await firstTokenMs(short, hooks()));
    if (round >= 10) bucket.relay.push(relayTime);
  }
}
const rows = ['| setup | relay, 20k tokens (ms, median) | tokens/s | first token (µs, median) |', '|---|---|---|---|'];
for (const [name, { relay: relayTimes, first }] of results) {
  const ms = median(relayTimes);
  rows.push(
    `| ${name} | ${ms.toFixed(2)} | ${Math.round(20_000 / (ms / 1000)).toLocaleString('en')} | ${(median(first) * 1000).toFixed(1)} |`,
  );
}
process.stdout.write(`${rows.join('\n')}\n`);
