/**
 * Scenario 2: relay throughput. The burst provider streams a long answer (one frame a token, as
 * fast as the socket takes it); the client times the whole stream and the server process's
 * `process.cpuUsage()` is read before and after each turn, so CPU per token is the server's only.
 */
import { type BenchEnv, connectUser } from '../lib/bench-env.js';
import { interleave } from '../lib/interleave.js';
import type { TargetRow } from '../lib/report.js';
import { fmt, summarize } from '../lib/stats.js';
import { FORMATS, postStream, type StreamFormat, userHeaders } from '../lib/stream-client.js';
import type { ScenarioResult } from './first-token.js';

/** Sizes of the scenario. */
export interface RelayOptions {
  tokens: number;
  turns: number;
  warmup: number;
}

interface RelaySample {
  tokensPerSecond: number;
  cpuUsPerToken: number;
}

const USER = 'bench-relay';

export async function relayScenario(env: BenchEnv, options: RelayOptions): Promise<ScenarioResult> {
  await connectUser(env.ports.lib, USER, 'burst');
  await connectUser(env.ports.libFetch, USER, 'burst');
  const message = `relay ${options.tokens}`;
  const turn =
    (url: string, body: unknown, format: StreamFormat, headers?: Record<string, string>) =>
    async (): Promise<RelaySample> => {
      const before = await env.server.call<NodeJS.CpuUsage>('cpu');
      const timing = await postStream(url, body, format, headers ? { headers } : {});
      const after = await env.server.call<NodeJS.CpuUsage>('cpu');
      if (timing.status !== 200 || !timing.complete) throw new Error(`incomplete relay from ${url}`);
      const cpuUs = after.user - before.user + (after.system - before.system);
      return { tokensPerSecond: (options.tokens / timing.totalMs) * 1000, cpuUsPerToken: cpuUs / options.tokens };
    };
  const samples = await interleave(
    [
      { name: 'floor', run: turn(env.url(env.ports.floor, '/'), { message, model: 'burst' }, FORMATS.floor) },
      {
        name: 'lib',
        run: turn(
          env.url(env.ports.lib, '/llmchat/chat'),
          { message, streaming: true },
          FORMATS.lib,
          userHeaders(USER),
        ),
      },
      {
        name: 'fetch',
        run: turn(
          env.url(env.ports.libFetch, '/llmchat/chat'),
          { message, streaming: true },
          FORMATS.lib,
          userHeaders(USER),
        ),
      },
      { name: 'aisdk', run: turn(env.url(env.ports.aisdk, '/chat'), { message, model: 'burst' }, FORMATS.aisdk) },
    ],
    options.turns,
    options.warmup,
  );
  const labels: Record<string, string> = {
    floor: 'bare relay (floor)',
    lib: 'mcp-llmchat, Express, memory',
    fetch: 'mcp-llmchat, handler.fetch on node:http, memory',
    aisdk: 'AI SDK 6 streamText, Express',
  };
  const stats: Record<string, { tps: number; cpu: number }> = {};
  for (const [name, values] of Object.entries(samples)) {
    stats[name] = {
      tps: summarize(values.map((value) => value.tokensPerSecond)).median,
      cpu: summarize(values.map((value) => value.cpuUsPerToken)).median,
    };
  }
  const floorTps = stats.floor?.tps ?? Number.NaN;
  const rows = Object.entries(stats).map(([name, value]) => [
    labels[name] ?? name,
    String(samples[name]?.length ?? 0),
    fmt(value.tps, 0),
    fmt(value.tps / floorTps, 2),
    fmt(value.cpu, 2),
  ]);
  const floorCpu = stats.floor?.cpu ?? Number.NaN;
  const relayTargets = (name: string, label: string): TargetRow[] => {
    const ratio = (stats[name]?.tps ?? Number.NaN) / floorTps;
    const cpu = stats[name]?.cpu ?? Number.NaN;
    return [
      {
        target: `relay, ${label}: ≥ 1× the floor’s tokens per second`,
        measured: `${fmt(ratio, 2)}×`,
        pass: ratio >= 1,
      },
      {
        target: `relay, ${label}: server CPU per token ≤ the floor’s`,
        measured: `${fmt(cpu)} vs ${fmt(floorCpu)} µs`,
        pass: cpu <= floorCpu,
      },
    ];
  };
  return {
    tables: [
      {
        title: `2. Relay throughput: ${options.tokens} tokens, no delay (medians)`,
        headers: ['Server', 'turns', 'tokens/s', '× floor', 'server CPU µs/token'],
        rows,
        notes: [
          'tokens/s: tokens / (request sent → stream end) at the client; CPU: user+system of the server process.',
        ],
      },
    ],
    targets: [
      ...relayTargets('lib', 'Express'),
      ...relayTargets('fetch', 'handler.fetch'),
      {
        target: '(info) relay CPU per token, AI SDK',
        measured: `${fmt(stats.aisdk?.cpu ?? Number.NaN)} µs`,
        pass: undefined,
      },
    ],
  };
}
