/**
 * Scenario 4: 1,000 concurrent streaming chats of 1,000 different users in one fresh server
 * process (memory storage), each user connected to the one test MCP server (tools listed and kept
 * with the session; the MCP connection is made again on a tool call).
 * The slow fake streams 50 tokens 20 ms apart. Measures completion, peak RSS, event-loop delay
 * p99 (`monitorEventLoopDelay` in the server) and the heap before, right after and after GC.
 */
import { type BenchEnv, connectUser } from '../lib/bench-env.js';
import { settledRss } from '../lib/settled-rss.js';
import { fmt, summarize } from '../lib/stats.js';
import { FORMATS, postStream, userHeaders } from '../lib/stream-client.js';
import type { ScenarioResult } from './first-token.js';

/** Sizes of the scenario. */
export interface ConcurrencyOptions {
  streams: number;
  /** Users connected at once while setting up (each builds an MCP session). */
  connectBatch: number;
  tokens: number;
  delayMs: number;
  /** Which door of the library takes the streams. @default 'express' */
  via?: 'express' | 'fetch';
}

interface MemorySample {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  maxRss: number;
}

const MB = 1024 * 1024;

export async function concurrencyScenario(env: BenchEnv, options: ConcurrencyOptions): Promise<ScenarioResult> {
  const viaFetch = options.via === 'fetch';
  const port = viaFetch ? env.ports.libFetch : env.ports.lib;
  const door = viaFetch ? 'handler.fetch on node:http' : 'Express';
  const users = Array.from({ length: options.streams }, (_, i) => `bench-c${i}`);
  await env.server.call('gc');
  // Read as the connected figure below is: once the collection's freed pages left the process.
  await settledRss(env.server);
  const idle = await env.server.call<MemorySample>('mem');
  const connectStarted = performance.now();
  for (let i = 0; i < users.length; i += options.connectBatch) {
    await Promise.all(users.slice(i, i + options.connectBatch).map((user) => connectUser(port, user)));
  }
  const connectMs = performance.now() - connectStarted;
  const mcpSessions = await env.upstream.call<number>('mcpSessions');

  const floor = env.ports.floor === undefined ? undefined : await floorWave(env, options);

  await env.server.call('gc');
  // The peak counts from here: the connects and the floor's wave came before, and the pages
  // their garbage took have left the process (see `settledRss`).
  await settledRss(env.server);
  await env.server.call('resetPeak');
  const before = await env.server.call<MemorySample>('mem');
  const handlesBefore = await env.server.call<Record<string, number>>('handles');
  await env.server.call('eldStart');
  let peakRss = before.rss;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const sample = await env.server.call<MemorySample>('mem');
      peakRss = Math.max(peakRss, sample.rss);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();

  const cpuBefore = await Promise.all([
    env.server.call<NodeJS.CpuUsage>('cpu'),
    env.upstream.call<NodeJS.CpuUsage>('cpu'),
    process.cpuUsage(),
  ]);
  const started = performance.now();
  const message = `slow ${options.tokens} ${options.delayMs}`;
  const results = await Promise.allSettled(
    users.map((user) =>
      postStream(env.url(port, '/llmchat/chat'), { message, streaming: true }, FORMATS.lib, {
        headers: userHeaders(user),
      }),
    ),
  );
  const wallMs = performance.now() - started;
  const cpuAfter = await Promise.all([
    env.server.call<NodeJS.CpuUsage>('cpu'),
    env.upstream.call<NodeJS.CpuUsage>('cpu'),
    process.cpuUsage(),
  ]);
  const cpuShare = (i: number) => {
    const a = cpuAfter[i] as NodeJS.CpuUsage;
    const b = cpuBefore[i] as NodeJS.CpuUsage;
    return `${fmt((a.user - b.user + a.system - b.system) / 1000 / wallMs, 2)} cores`;
  };
  const eld = await env.server.call<{ p50: number; p99: number; max: number }>('eldStop');
  sampling = false;
  await sampler;
  const after = await env.server.call<MemorySample>('mem');
  // The kernel's own peak catches what falls between two samples.
  peakRss = Math.max(peakRss, after.rss, (await env.server.call<number | undefined>('peakRss')) ?? 0);
  await new Promise((resolve) => setTimeout(resolve, 200));
  await env.server.call('gc');
  const afterGc = await env.server.call<MemorySample>('mem');
  const handlesAfter = await env.server.call<Record<string, number>>('handles');

  const timings = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const complete = timings.filter((timing) => timing.status === 200 && timing.complete).length;
  const first = summarize(timings.map((timing) => timing.firstMs).filter(Number.isFinite));
  const total = summarize(timings.map((timing) => timing.totalMs));
  const idealMs = (options.tokens - 1) * options.delayMs;
  const sockets = (handles: Record<string, number>) => String(handles.TCPSocketWrap ?? 0);

  const peakMb = peakRss / MB;
  const serverCpuUs = (() => {
    const a = cpuAfter[0] as NodeJS.CpuUsage;
    const b = cpuBefore[0] as NodeJS.CpuUsage;
    return a.user - b.user + a.system - b.system;
  })();
  const tokens = options.streams * options.tokens;
  return {
    tables: [
      {
        title: `4${viaFetch ? 'b' : ''}. ${options.streams} concurrent streams (${options.tokens} tokens ${options.delayMs} ms apart) through ${door}, one server process`,
        headers: ['Measure', 'Value'],
        rows: [
          [
            'users connected (tools listed; no MCP connection kept)',
            `${users.length} in ${fmt(connectMs / 1000, 1)} s (batches of ${options.connectBatch}); MCP sessions on the server: ${mcpSessions}`,
          ],
          ['streams complete', `${complete} / ${options.streams}`],
          ['wall time, all streams', `${fmt(wallMs, 0)} ms (one stream alone ≥ ${idealMs} ms)`],
          ['first token, median / p99', `${fmt(first.median)} / ${fmt(first.p99)} ms`],
          ['stream duration, median / p99', `${fmt(total.median, 0)} / ${fmt(total.p99, 0)} ms`],
          [
            'CPU during the streams: server / upstream fakes / client',
            `${cpuShare(0)} / ${cpuShare(1)} / ${cpuShare(2)} (machine: 2)`,
          ],
          [
            'server CPU per relayed token (whole wave / tokens): mcp-llmchat / floor',
            `${fmt(serverCpuUs / tokens, 1)} / ${floor ? fmt(floor.cpuUs / tokens, 1) : 'n/a'} µs`,
          ],
          [
            'floor wave (same streams through the bare relay, same process, before): complete, wall, ELD p99',
            floor
              ? `${floor.complete} / ${options.streams}, ${fmt(floor.wallMs, 0)} ms, ${fmt(floor.eldP99)} ms`
              : 'n/a',
          ],
          ['event-loop delay p50 / p99 / max', `${fmt(eld.p50)} / ${fmt(eld.p99)} / ${fmt(eld.max)} ms`],
          ['RSS idle (no user) / connected (after GC)', `${fmt(idle.rss / MB, 1)} / ${fmt(before.rss / MB, 1)} MB`],
          [
            'per connected user: RSS / heap',
            `${fmt((before.rss - idle.rss) / users.length / 1024, 0)} / ${fmt((before.heapUsed - idle.heapUsed) / users.length / 1024, 0)} KB`,
          ],
          ['RSS peak during the streams (VmHWM, with samples every 100 ms)', `${fmt(peakMb, 1)} MB`],
          ['RSS max of the process (getrusage, whole life)', `${fmt(afterGc.maxRss / MB, 1)} MB`],
          [
            'heap used: idle / connected / right after the streams / after GC',
            `${fmt(idle.heapUsed / MB, 1)} / ${fmt(before.heapUsed / MB, 1)} / ${fmt(after.heapUsed / MB, 1)} / ${fmt(afterGc.heapUsed / MB, 1)} MB`,
          ],
          ['TCP sockets: before / after GC', `${sockets(handlesBefore)} / ${sockets(handlesAfter)}`],
        ],
      },
    ],
    targets: [
      {
        target: `${options.streams} streams through ${door}: all complete, RSS < 300 MB`,
        measured: `${complete}/${options.streams}, peak ${fmt(peakMb, 0)} MB`,
        pass: complete === options.streams && peakMb < 300,
      },
      {
        target: `event-loop delay p99 < 50 ms with ${options.streams} streams through ${door}`,
        measured: `${fmt(eld.p99)} ms`,
        pass: eld.p99 < 50,
      },
      {
        target: `(info) heap after the streams and GC vs before (leak check), ${door}`,
        measured: `${fmt((afterGc.heapUsed - before.heapUsed) / MB, 1)} MB`,
        pass: undefined,
      },
    ],
  };
}

/** The same wave of streams through the bare relay of the same process: what the machine allows. */
async function floorWave(
  env: BenchEnv,
  options: ConcurrencyOptions,
): Promise<{ complete: number; wallMs: number; cpuUs: number; eldP99: number }> {
  const message = `slow ${options.tokens} ${options.delayMs}`;
  await env.server.call('eldStart');
  const before = await env.server.call<NodeJS.CpuUsage>('cpu');
  const started = performance.now();
  const results = await Promise.allSettled(
    Array.from({ length: options.streams }, () =>
      postStream(env.url(env.ports.floor, '/'), { message }, FORMATS.floor),
    ),
  );
  const wallMs = performance.now() - started;
  const after = await env.server.call<NodeJS.CpuUsage>('cpu');
  const eld = await env.server.call<{ p99: number }>('eldStop');
  const complete = results.filter((result) => result.status === 'fulfilled' && result.value.complete).length;
  return { complete, wallMs, cpuUs: after.user - before.user + after.system - before.system, eldP99: eld.p99 };
}
