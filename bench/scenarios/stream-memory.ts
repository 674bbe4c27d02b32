/**
 * Scenario 4a: peak RSS of one server process while it relays N concurrent streams (50 tokens
 * 20 ms apart), through the bare relay (the floor), the Express adapter and `handler.fetch` on
 * node:http. Each wave runs in a fresh server process of the same build, so one wave's garbage
 * and grown heap never count against the next; the library's users are connected (their tools
 * listed and kept with the session, no MCP connection left open) before the wave, as in scenario
 * 4, and the peak counts from once the RSS settled after a full collection (see `settledRss`).
 * One wave's peak moves by 20 MB or more
 * from run to run (when the collector happens to run), the floor's included: every door runs
 * `rounds` waves, in balanced orders, and the ratio compares median peaks.
 */
import type { BenchEnv } from '../lib/bench-env.js';
import { connectUser } from '../lib/bench-env.js';
import { DOOR_LABELS, DOORS, type Door, doorPort, streamThrough } from '../lib/doors.js';
import { balancedOrders } from '../lib/interleave.js';
import { settledRss } from '../lib/settled-rss.js';
import { fmt, summarize } from '../lib/stats.js';
import type { ScenarioResult } from './first-token.js';

/** Sizes of the scenario. */
export interface StreamMemoryOptions {
  streams: number;
  connectBatch: number;
  tokens: number;
  delayMs: number;
  /** Waves per door, each in a fresh process; the doors take turns. */
  rounds: number;
  /** The doors compared (the bridge door needs servers started with `--bridge`). @default DOORS */
  doors?: readonly Door[];
}

interface Wave {
  idleRss: number;
  /** Right after the collection that follows the connects. */
  collectedRss: number;
  /** Once that collection's freed pages left the process: where the peak counts from. */
  startRss: number;
  /** Whether RSS had stopped falling before the wave (else it started after the wait ran out). */
  settled: boolean;
  peakRss: number;
  /** The old generation's objects (live or not yet collected) at the highest RSS sample. */
  peakOldSpace: number;
  /** V8's full collections while the wave ran. */
  fullCollections: number;
  complete: number;
  eldP99: number;
  /** From the first request sent to the last stream's end. */
  durationMs: number;
  /** The server's CPU time (user and system) over the wave. */
  cpuMs: number;
}

const MB = 1024 * 1024;

const median = (values: readonly number[]) => summarize(values).median;

/** Runs every door's waves, each in a process from `freshServer` (closed afterwards). */
export async function streamMemoryScenario(
  freshServer: () => Promise<BenchEnv>,
  options: StreamMemoryOptions,
): Promise<ScenarioResult> {
  const doors = options.doors ?? DOORS;
  const waves = Object.fromEntries(doors.map((door) => [door, [] as Wave[]])) as Record<Door, Wave[]>;
  const orders = balancedOrders(doors.length);
  for (let round = 0; round < options.rounds; round++) {
    for (const index of orders[round % orders.length] ?? []) {
      const door = doors[index] as Door;
      const env = await freshServer();
      try {
        waves[door].push(await wave(env, door, options));
      } finally {
        await env.server.close();
      }
    }
  }
  const peak = (door: Door) => median(waves[door].map((w) => w.peakRss));
  const floorPeak = peak('floor');
  const mb = (value: number) => fmt(value / MB, 1);
  const rows = doors.map((door) => {
    const list = waves[door];
    return [
      DOOR_LABELS[door],
      list.map((w) => `${w.complete}`).join(', '),
      mb(median(list.map((w) => w.idleRss))),
      mb(median(list.map((w) => w.collectedRss))),
      mb(median(list.map((w) => w.startRss))),
      list.map((w) => mb(w.peakRss)).join(', '),
      mb(peak(door)),
      fmt(peak(door) / floorPeak, 2),
      list.map((w) => `${w.fullCollections}`).join(', '),
      list.map((w) => mb(w.peakOldSpace)).join(', '),
      fmt(median(list.map((w) => w.eldP99))),
      fmt(median(list.map((w) => w.durationMs)) / 1000, 1),
      fmt(median(list.map((w) => w.cpuMs)) / 1000, 2),
    ];
  });
  const target = (door: 'express' | 'fetch') => {
    const ratio = peak(door) / floorPeak;
    return {
      target: `${options.streams} streams, ${door === 'fetch' ? 'handler.fetch' : 'Express'}: peak RSS ≤ 1.2× the floor’s (medians of ${options.rounds} waves)`,
      measured: `${fmt(ratio, 2)}× (${fmt(peak(door) / MB, 0)} vs ${fmt(floorPeak / MB, 0)} MB)`,
      pass: ratio <= 1.2,
    };
  };
  return {
    tables: [
      {
        title: `4a. Peak RSS with ${options.streams} concurrent streams (${options.tokens} tokens ${options.delayMs} ms apart), ${options.rounds} waves per server, a fresh process each`,
        headers: [
          'Server',
          `complete (of ${options.streams}), each wave`,
          'RSS idle (MB, median)',
          'RSS right after the collection (MB, median)',
          'RSS before the wave, settled (MB, median)',
          'RSS peak, each wave (MB)',
          'RSS peak, median (MB)',
          '× floor peak',
          'full collections during the wave, each wave',
          'old space at the highest sample, each wave (MB)',
          'ELD p99 (ms, median)',
          'wave duration (s, median)',
          'server CPU over the wave (s, median)',
        ],
        rows,
        notes: [
          'RSS peak: the kernel’s VmHWM from the start of the wave, with samples every 50 ms where it is missing; the library’s users were connected before the wave.',
          'Before each wave (and before the idle reading) a full collection runs and the bench waits until RSS stops falling (V8 returns the freed pages on a background thread over a second or two), up to 4 s: the peak counts from there, for every server alike.',
          ...unsettledNote(doors, waves),
          'A wave that ran no full collection peaks with all it promoted still in the old generation: V8 sets the next limit after the collection before the wave, at what survived times a factor it derives from how fast the process promoted objects lately (its connects, for the library), so the same live data can peak 10–20 MB apart (see ANALYSIS.md, eighteenth round).',
          'The servers take turns wave by wave (balanced orders), so drift of the machine falls on every one alike.',
          `A wave of ${options.tokens} tokens ${options.delayMs} ms apart would take ${fmt((options.tokens * options.delayMs) / 1000, 1)} s if no process fell behind; a server that needs more than its share of the two cores draws its streams out, and what each stream holds is then held (and promoted) for longer.`,
        ],
      },
    ],
    targets: [
      target('express'),
      target('fetch'),
      // What Express itself adds: the same middleware without Express (see ANALYSIS.md, eighteenth round).
      ...(doors.includes('bridge')
        ? [
            {
              target: `(info) ${options.streams} streams, the library's Node bridge on node:http (Express's middleware without Express): peak RSS × the floor's`,
              measured: `${fmt(peak('bridge') / floorPeak, 2)}× (${fmt(peak('bridge') / MB, 0)} vs ${fmt(floorPeak / MB, 0)} MB)`,
              pass: undefined,
            },
          ]
        : []),
    ],
  };
}

/** A note naming the waves that started before RSS stopped falling, if any did. */
function unsettledNote(doors: readonly Door[], waves: Record<Door, Wave[]>): string[] {
  const unsettled = doors.flatMap((door) =>
    waves[door].flatMap((w, i) => (w.settled ? [] : [`${DOOR_LABELS[door]}, wave ${i + 1}`])),
  );
  return unsettled.length === 0 ? [] : [`RSS was still falling when these waves started: ${unsettled.join('; ')}.`];
}

async function wave(env: BenchEnv, door: Door, options: StreamMemoryOptions): Promise<Wave> {
  const users = Array.from({ length: options.streams }, (_, i) => `bench-m${i}`);
  await env.server.call('gc');
  const idleRss = (await settledRss(env.server)).rss;
  const port = doorPort(env, door);
  if (door !== 'floor') {
    for (let i = 0; i < users.length; i += options.connectBatch) {
      await Promise.all(users.slice(i, i + options.connectBatch).map((user) => connectUser(port, user)));
    }
  }
  await env.server.call('gc');
  const collectedRss = (await env.server.call<{ rss: number }>('mem')).rss;
  // The peak counts from here: after the connects, and after the pages their garbage took left
  // the process (every door waits alike).
  const { settled } = await settledRss(env.server);
  await env.server.call('resetPeak');
  const startRss = (await env.server.call<{ rss: number }>('mem')).rss;
  let peakRss = startRss;
  let peakOldSpace = 0;
  let highestSample = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const sample = await env.server.call<{ rss: number; oldSpaceUsed: number }>('mem');
      if (sample.rss > highestSample) {
        highestSample = sample.rss;
        peakOldSpace = sample.oldSpaceUsed;
      }
      peakRss = Math.max(peakRss, sample.rss);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  await env.server.call('fullGcCountStart');
  await env.server.call('eldStart');
  const cpuBefore = await env.server.call<NodeJS.CpuUsage>('cpu');
  const message = `slow ${options.tokens} ${options.delayMs}`;
  const sentAt = performance.now();
  const results = await Promise.allSettled(users.map((user) => streamThrough(env, door, user, message)));
  const durationMs = performance.now() - sentAt;
  const cpuAfter = await env.server.call<NodeJS.CpuUsage>('cpu');
  const eld = await env.server.call<{ p99: number }>('eldStop');
  const fullCollections = await env.server.call<number>('fullGcCountStop');
  sampling = false;
  await sampler;
  // The kernel's own peak catches what falls between two samples.
  const after = await env.server.call<{ rss: number }>('mem');
  peakRss = Math.max(peakRss, after.rss, (await env.server.call<number | undefined>('peakRss')) ?? 0);
  const complete = results.filter(
    (result) => result.status === 'fulfilled' && result.value.status === 200 && result.value.complete,
  ).length;
  return {
    idleRss,
    collectedRss,
    startRss,
    settled,
    peakRss,
    peakOldSpace,
    fullCollections,
    complete,
    eldP99: eld.p99,
    durationMs,
    cpuMs: (cpuAfter.user + cpuAfter.system - cpuBefore.user - cpuBefore.system) / 1000,
  };
}
