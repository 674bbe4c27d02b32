/**
 * Scenario 4a: peak RSS of one server process while it relays N concurrent streams (50 tokens
 * 20 ms apart), through the bare relay (the floor), the Express adapter and `handler.fetch` on
 * node:http. Each variant runs in a fresh server process of the same build, so one wave's garbage
 * and grown heap never count against the next; the library's users are connected (each with its
 * own MCP session) before the wave, as in scenario 4.
 */
import type { BenchEnv } from '../lib/bench-env.js';
import { connectUser } from '../lib/bench-env.js';
import { fmt } from '../lib/stats.js';
import { FORMATS, postStream, userHeaders } from '../lib/stream-client.js';
import type { ScenarioResult } from './first-token.js';

/** Sizes of the scenario. */
export interface StreamMemoryOptions {
  streams: number;
  connectBatch: number;
  tokens: number;
  delayMs: number;
}

interface Wave {
  idleRss: number;
  startRss: number;
  peakRss: number;
  complete: number;
  eldP99: number;
}

const MB = 1024 * 1024;
type Door = 'floor' | 'express' | 'fetch';

/** Runs the three waves, each in a process from `freshServer` (closed afterwards). */
export async function streamMemoryScenario(
  freshServer: () => Promise<BenchEnv>,
  options: StreamMemoryOptions,
): Promise<ScenarioResult> {
  const waves: Partial<Record<Door, Wave>> = {};
  for (const door of ['floor', 'express', 'fetch'] as const) {
    const env = await freshServer();
    try {
      waves[door] = await wave(env, door, options);
    } finally {
      await env.server.close();
    }
  }
  const floorPeak = waves.floor?.peakRss ?? Number.NaN;
  const labels: Record<Door, string> = {
    floor: 'bare relay (floor)',
    express: 'mcp-llmchat, Express, memory',
    fetch: 'mcp-llmchat, handler.fetch on node:http, memory',
  };
  const rows = (Object.entries(waves) as Array<[Door, Wave]>).map(([door, w]) => [
    labels[door],
    `${w.complete} / ${options.streams}`,
    fmt(w.idleRss / MB, 1),
    fmt(w.startRss / MB, 1),
    fmt(w.peakRss / MB, 1),
    fmt(w.peakRss / floorPeak, 2),
    fmt(w.eldP99),
  ]);
  const target = (door: 'express' | 'fetch') => {
    const ratio = (waves[door]?.peakRss ?? Number.NaN) / floorPeak;
    return {
      target: `${options.streams} streams, ${door === 'fetch' ? 'handler.fetch' : 'Express'}: peak RSS ≤ 1.2× the floor’s`,
      measured: `${fmt(ratio, 2)}× (${fmt((waves[door]?.peakRss ?? Number.NaN) / MB, 0)} vs ${fmt(floorPeak / MB, 0)} MB)`,
      pass: ratio <= 1.2,
    };
  };
  return {
    tables: [
      {
        title: `4a. Peak RSS with ${options.streams} concurrent streams (${options.tokens} tokens ${options.delayMs} ms apart), a fresh process each`,
        headers: [
          'Server',
          'complete',
          'RSS idle (MB)',
          'RSS before the wave (MB)',
          'RSS peak (MB)',
          '× floor peak',
          'ELD p99 (ms)',
        ],
        rows,
        notes: [
          'RSS sampled every 50 ms in the server process; the library’s users were connected (own MCP session each) before the wave.',
        ],
      },
    ],
    targets: [target('express'), target('fetch')],
  };
}

async function wave(env: BenchEnv, door: Door, options: StreamMemoryOptions): Promise<Wave> {
  const users = Array.from({ length: options.streams }, (_, i) => `bench-m${i}`);
  await env.server.call('gc');
  const idleRss = (await env.server.call<{ rss: number }>('mem')).rss;
  const port = door === 'floor' ? env.ports.floor : door === 'fetch' ? env.ports.libFetch : env.ports.lib;
  if (door !== 'floor') {
    for (let i = 0; i < users.length; i += options.connectBatch) {
      await Promise.all(users.slice(i, i + options.connectBatch).map((user) => connectUser(port, user)));
    }
  }
  await env.server.call('gc');
  const startRss = (await env.server.call<{ rss: number }>('mem')).rss;
  let peakRss = startRss;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peakRss = Math.max(peakRss, (await env.server.call<{ rss: number }>('mem')).rss);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  await env.server.call('eldStart');
  const message = `slow ${options.tokens} ${options.delayMs}`;
  const results = await Promise.allSettled(
    users.map((user) =>
      door === 'floor'
        ? postStream(env.url(port, '/'), { message }, FORMATS.floor)
        : postStream(env.url(port, '/llmchat/chat'), { message, streaming: true }, FORMATS.lib, {
            headers: userHeaders(user),
          }),
    ),
  );
  const eld = await env.server.call<{ p99: number }>('eldStop');
  sampling = false;
  await sampler;
  peakRss = Math.max(peakRss, (await env.server.call<{ rss: number }>('mem')).rss);
  const complete = results.filter(
    (result) => result.status === 'fulfilled' && result.value.status === 200 && result.value.complete,
  ).length;
  return { idleRss, startRss, peakRss, complete, eldP99: eld.p99 };
}
