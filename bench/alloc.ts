/**
 * `npm run bench:alloc`: what a streamed turn allocates, through each door, against the bare
 * relay: kilobytes a turn and a token, which code allocates a token's share and a turn's own, and
 * what an open stream keeps alive (issue 17's 500-stream peak: no full collection runs during
 * a wave, so the old generation grows by what every stream holds while it is open).
 *
 * Each door gets a fresh server process (the TypeScript sources, so frames name their files).
 * The library's users connect first and a warm-up wave runs; then a wave of one-token answers
 * and a wave of `--tokens`-token answers (20 ms apart) run under V8's sampling heap profiler,
 * with the objects the collector frees kept in the profile. The difference between the two waves
 * is the tokens' share; the rest is the turn's. Sampling is statistical: read differences of a
 * few percent as noise. These include what tsx's keepNames adds (a property store for each named
 * closure made), which the shipped build and the bench bundles do not pay.
 *
 * Then what stays alive, in another fresh process running the esbuild bundle of the server (what
 * `npm run bench` runs; see `measure` for why not the sources): three waves of 150-token answers, the heap measured after a full
 * collection before each and 1 s into it; the median difference, over the streams, is what an
 * open stream holds. Whatever a stream holds lives through many scavenges and is promoted, so
 * this, times the streams, is about what a wave adds to the old generation before a full
 * collection comes (scenario 4a's peak). A further token's share is left out: the history and
 * logs the earlier waves stored come and go by more than it between two measurements.
 *
 * Flags: `--streams N` (default 200), `--tokens N` (default 50), `--quick` (50 streams),
 * `--history N` (before each live wave, a quick wave of N-token answers, so each measured turn
 * carries a long earlier answer: the bench server keeps one earlier turn; default 0),
 * `--snapshots` (heap snapshots before and during the first live wave of each door, and what an
 * open stream added to the heap, by kind of object and by owner: where to look when the figure moves),
 * `--owner NAME[,NAME…]` (with `--snapshots`: what the owners of those kinds hold, by kind of object),
 * `--promoted` (instead of the above: what a wave promotes and drops, by the function that
 * allocated it; run it with `--streams 500`, scenario 4a's wave).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BenchEnv, connectUser, startServer, workerScripts } from './lib/bench-env.js';
import { buildWorkers } from './lib/build-workers.js';
import { DOOR_LABELS, DOORS, type Door, doorPort, streamThrough } from './lib/doors.js';
import { numberFlag } from './lib/flags.js';
import { frameName, frameOrigin } from './lib/frame-origin.js';
import { ownedBy, ownersOf, readNewObjects } from './lib/heap-owners.js';
import { type HeapGroup, heapGrowth, summarizeHeapSnapshot } from './lib/heap-snapshot-summary.js';
import { type BenchWorker, startWorker } from './lib/ipc.js';
import { benchAgent, printIdleSocketRetries } from './lib/stream-client.js';
import type { UpstreamInfo } from './server.js';

const argv = process.argv.slice(2);
const streams = argv.includes('--quick') ? 50 : numberFlag('--streams', 200);
const withSnapshots = argv.includes('--snapshots');
/** With `--snapshots`: what an open stream added to the heap, by kind of object, for each door. */
const growth: Partial<Record<Door, Array<[string, HeapGroup]>>> = {};
/** With `--snapshots`: what an open stream added, by the object that alone keeps it alive. */
const owners: Partial<Record<Door, Array<[string, HeapGroup]>>> = {};
/** With `--snapshots --owner NAME[,NAME…]`: what the owners of those kinds hold, by kind (`DispatchedAnswer,Object`). */
const ownersToOpen = argv.includes('--owner') ? (argv[argv.indexOf('--owner') + 1] ?? '').split(',') : [];
const opened: Partial<Record<Door, Array<[string, Array<[string, HeapGroup]>]>>> = {};
const tokens = numberFlag('--tokens', 50);
const promotedOnly = argv.includes('--promoted');
const historyTokens = numberFlag('--history', 0);
const SAMPLING_BYTES = 4096;

interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children?: HeapNode[];
}

/** Bytes allocated by each frame (self), from a sampling heap profile. */
function selfBytes(path: string): Map<string, { bytes: number; url: string }> {
  const byFrame = new Map<string, { bytes: number; url: string }>();
  const visit = (node: HeapNode) => {
    if (node.selfSize > 0) {
      const key = frameName(node.callFrame);
      const entry = byFrame.get(key) ?? { bytes: 0, url: node.callFrame.url };
      entry.bytes += node.selfSize;
      byFrame.set(key, entry);
    }
    for (const child of node.children ?? []) visit(child);
  };
  visit((JSON.parse(readFileSync(path, 'utf8')) as { head: HeapNode }).head);
  return byFrame;
}

/** The first `limit` groups of a heap table, one line each: bytes and count a stream, then the kind. */
function printGroups(groups: ReadonlyArray<[string, HeapGroup]>, limit: number): void {
  for (const [kind, { count, bytes }] of groups.slice(0, limit)) {
    console.log(`${bytes.toFixed(0).padStart(7)} B  ${count.toFixed(1).padStart(6)}×  ${kind}`);
  }
}

const sum = (frames: Map<string, { bytes: number }>) => [...frames.values()].reduce((all, f) => all + f.bytes, 0);

/** One wave of `users` streams of `count` tokens, `gapMs` apart, through `door`. */
async function wave(env: BenchEnv, door: Door, users: string[], count: number, gapMs = 20): Promise<void> {
  const message = `slow ${count} ${gapMs}`;
  const results = await Promise.all(users.map((user) => streamThrough(env, door, user, message)));
  const incomplete = results.filter((timing) => timing.status !== 200 || !timing.complete).length;
  if (incomplete > 0) throw new Error(`${door}: ${incomplete} of ${users.length} streams did not complete`);
}

/** The answer of a live wave: long enough that every stream is still open when measured. */
const LIVE_TOKENS = 150;
const LIVE_AT_MS = 1000;
const LIVE_WAVES = 3;

/** Heap bytes each open stream holds `LIVE_AT_MS` into a wave of `LIVE_TOKENS`-token answers. */
async function liveStreamBytes(
  env: BenchEnv,
  door: Door,
  users: string[],
  snapshots?: { before: string; during: string },
): Promise<number> {
  const heapAfterGc = async () => {
    await env.server.call('gc');
    return (await env.server.call<{ heapUsed: number }>('mem')).heapUsed;
  };
  // The earlier answer each measured turn sends along (the bench server keeps one earlier turn).
  if (historyTokens > 0) await wave(env, door, users, historyTokens, 0);
  const before = await heapAfterGc();
  if (snapshots) await env.server.call('heapSnapshot', snapshots.before);
  const running = wave(env, door, users, LIVE_TOKENS);
  // Awaited below; until then a failed wave must not count as an unhandled rejection.
  running.catch(() => {});
  await new Promise((resolve) => setTimeout(resolve, LIVE_AT_MS));
  const during = await heapAfterGc();
  // After the figure is read: writing a snapshot stops the process for a while.
  if (snapshots) await env.server.call('heapSnapshot', snapshots.during);
  await running;
  return (during - before) / users.length;
}

interface DoorResult {
  turnBytes: number;
  tokenBytes: number;
  /** Heap bytes an open stream holds (see {@link liveStreamBytes}), the median of the waves. */
  liveStreamBytes: number;
  /** Each frame's bytes a token (the long wave less the one-token wave). */
  perToken: Map<string, { bytes: number; url: string }>;
  /** Each frame's bytes a turn (the one-token wave, less one token's share). */
  perTurn: Map<string, { bytes: number; url: string }>;
}

/** Connects the library's users (the floor has none) and runs a warm-up wave. */
async function prepare(env: BenchEnv, door: Door, users: string[]): Promise<void> {
  const port = doorPort(env, door);
  if (door !== 'floor') {
    for (let i = 0; i < users.length; i += 50) {
      await Promise.all(users.slice(i, i + 50).map((user) => connectUser(port, user)));
    }
  }
  await wave(env, door, users, tokens);
}

async function measure(
  upstream: BenchWorker,
  info: UpstreamInfo,
  door: Door,
  dir: string,
  bundledServer: string,
): Promise<DoorResult> {
  const users = Array.from({ length: streams }, (_, i) => `alloc-${door}-${i}`);
  const profiles: Map<string, { bytes: number; url: string }>[] = [];
  const env = await startServer(upstream, info, ['--no-aisdk'], ['--expose-gc']);
  try {
    await prepare(env, door, users);
    for (const count of [1, tokens]) {
      await env.server.call('gc');
      await env.server.call('heapSampleStart', SAMPLING_BYTES);
      await wave(env, door, users, count);
      const file = join(dir, `${door}-${count}.heapprofile`);
      await env.server.call('heapSampleStop', file);
      profiles.push(selfBytes(file));
    }
  } finally {
    await env.server.close();
  }
  const [one, many] = profiles as [Map<string, { bytes: number; url: string }>, (typeof profiles)[number]];
  const tokenBytes = (sum(many) - sum(one)) / (tokens - 1) / streams;
  const perToken = new Map<string, { bytes: number; url: string }>();
  for (const [key, entry] of many) {
    const bytes = (entry.bytes - (one.get(key)?.bytes ?? 0)) / (tokens - 1) / streams;
    perToken.set(key, { bytes, url: entry.url });
  }
  const perTurn = new Map<string, { bytes: number; url: string }>();
  for (const [key, entry] of one) {
    perTurn.set(key, { bytes: entry.bytes / streams - (perToken.get(key)?.bytes ?? 0), url: entry.url });
  }

  // What stays alive is measured on the bundle `npm run bench` runs, not on the TypeScript
  // sources: tsx compiles with esbuild's keepNames, whose `__name(fn, …)` gives every named
  // closure a property store of its own (about 150 B each, some 10 KB an open stream here).
  const live: number[] = [];
  const liveEnv = await startServer(upstream, info, ['--no-aisdk'], ['--expose-gc'], bundledServer);
  try {
    await prepare(liveEnv, door, users);
    for (let i = 0; i < LIVE_WAVES; i++) {
      const snapshots =
        withSnapshots && i === 0
          ? { before: join(dir, `${door}-before.heapsnapshot`), during: join(dir, `${door}-during.heapsnapshot`) }
          : undefined;
      live.push(await liveStreamBytes(liveEnv, door, users, snapshots));
      if (snapshots) {
        growth[door] = heapGrowth(
          summarizeHeapSnapshot(snapshots.before),
          summarizeHeapSnapshot(snapshots.during),
          users.length,
        );
        const added = readNewObjects(snapshots.before, snapshots.during);
        owners[door] = ownersOf(added, users.length);
        opened[door] = ownersToOpen.map((owner) => {
          const key = owners[door]?.find(([name]) => name.startsWith(`${owner} `))?.[0] ?? owner;
          return [owner, ownedBy(added, key, users.length)];
        });
      }
    }
  } finally {
    await liveEnv.server.close();
  }
  return {
    turnBytes: sum(one) / streams - tokenBytes,
    tokenBytes,
    liveStreamBytes: live.sort((x, y) => x - y)[Math.floor(LIVE_WAVES / 2)] as number,
    perToken,
    perTurn,
  };
}

const kb = (bytes: number) => (bytes / 1024).toFixed(1);

/**
 * What a wave promotes and then drops (scenario 4a's peak is mostly that: no full collection
 * runs during a wave), by the function that allocated it, in bytes a stream. Two waves under the
 * sampling profiler, each ended by two scavenges (the young generation's garbage freed and left
 * out, the rest promoted) and a full collection: the first keeps what the full collection freed,
 * the second nothing the collector freed; the difference is what lived through scavenges and died.
 */
async function promotedGarbage(
  upstream: BenchWorker,
  info: UpstreamInfo,
  door: Door,
  dir: string,
): Promise<{ frames: Map<string, { bytes: number; url: string }>; oldSpaceGrowth: number }> {
  const users = Array.from({ length: streams }, (_, i) => `promoted-${door}-${i}`);
  const env = await startServer(upstream, info, ['--no-aisdk'], ['--expose-gc']);
  try {
    await prepare(env, door, users);
    const oldSpace = async () => (await env.server.call<{ oldSpaceUsed: number }>('mem')).oldSpaceUsed;
    let oldSpaceGrowth = 0;
    const profile = async (major: boolean) => {
      await env.server.call('gc');
      const before = await oldSpace();
      await env.server.call('heapSampleStart', { intervalBytes: SAMPLING_BYTES, keep: { minor: false, major } });
      await wave(env, door, users, tokens);
      // What the wave left in the old generation, before anything collects it: a check on the sum.
      if (major) oldSpaceGrowth = ((await oldSpace()) - before) / streams;
      await env.server.call('minorGc');
      await env.server.call('gc');
      const file = join(dir, `${door}-${major ? 'promoted' : 'alive'}.heapprofile`);
      await env.server.call('heapSampleStop', file);
      return selfBytes(file);
    };
    const withDropped = await profile(true);
    const alive = await profile(false);
    const dropped = new Map<string, { bytes: number; url: string }>();
    for (const [key, { bytes, url }] of withDropped) {
      dropped.set(key, { bytes: (bytes - (alive.get(key)?.bytes ?? 0)) / streams, url });
    }
    return { frames: dropped, oldSpaceGrowth };
  } finally {
    await env.server.close();
  }
}

/** Prints {@link promotedGarbage} for every door: the total, and the top origins and functions. */
async function printPromotedGarbage(upstream: BenchWorker, info: UpstreamInfo, dir: string): Promise<void> {
  console.log(
    `node ${process.version}; ${streams} streams a wave, ${tokens} tokens 20 ms apart; sampling every ${SAMPLING_BYTES} bytes\n`,
  );
  console.log('What a wave promoted and dropped (lived through scavenges, freed by a full collection), a stream\n');
  for (const door of DOORS) {
    const { frames, oldSpaceGrowth } = await promotedGarbage(upstream, info, door, dir);
    console.log(
      `${DOOR_LABELS[door]}: ${kb(sum(frames))} KB a stream (old space grew ${kb(oldSpaceGrowth)} KB a stream over the wave)`,
    );
    const origins = new Map<string, number>();
    for (const { bytes, url } of frames.values()) {
      const where = frameOrigin(url);
      origins.set(where, (origins.get(where) ?? 0) + bytes);
    }
    for (const [where, bytes] of [...origins].sort((a, b) => b[1] - a[1]).slice(0, 10)) {
      console.log(`${bytes.toFixed(0).padStart(7)} B  ${where}`);
    }
    console.log('  by function:');
    for (const [name, { bytes }] of [...frames].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, 20)) {
      console.log(`${bytes.toFixed(0).padStart(7)} B  ${name}`);
    }
    console.log('');
  }
}

async function main(): Promise<void> {
  // The TypeScript workers (not the bundles), so the profile's frames name their source files.
  const upstream = await startWorker(workerScripts.upstream);
  const info = await upstream.call<UpstreamInfo>('info');
  const dir = mkdtempSync(join(tmpdir(), 'mcp-llmchat-alloc-'));
  try {
    if (promotedOnly) {
      await printPromotedGarbage(upstream, info, dir);
      return;
    }
    const results = {} as Record<Door, DoorResult>;
    const bundled = await buildWorkers();
    for (const door of DOORS) results[door] = await measure(upstream, info, door, dir, bundled.server);
    const floor = results.floor;
    console.log(
      `node ${process.version}; ${streams} streams a wave, 1 and ${tokens} tokens 20 ms apart; sampling every ${SAMPLING_BYTES} bytes${historyTokens > 0 ? `; live waves after ${historyTokens}-token answers` : ''}\n`,
    );
    console.log('| door | KB a turn | KB a token | × floor (turn) | × floor (token) |');
    console.log('|---|---|---|---|---|');
    for (const door of DOORS) {
      const r = results[door];
      console.log(
        `| ${DOOR_LABELS[door]} | ${kb(r.turnBytes)} | ${kb(r.tokenBytes)} | ${(r.turnBytes / floor.turnBytes).toFixed(2)} | ${(r.tokenBytes / floor.tokenBytes).toFixed(2)} |`,
      );
    }
    console.log(
      `\nWhat an open stream holds (after a full collection, ${LIVE_AT_MS / 1000} s into ${LIVE_TOKENS}-token answers, median of ${LIVE_WAVES} waves)\n`,
    );
    console.log('| door | KB an open stream | × floor |');
    console.log('|---|---|---|');
    for (const door of DOORS) {
      const bytes = results[door].liveStreamBytes;
      console.log(`| ${DOOR_LABELS[door]} | ${kb(bytes)} | ${(bytes / floor.liveStreamBytes).toFixed(2)} |`);
    }
    for (const door of DOORS) {
      const kinds = growth[door];
      if (!kinds) continue;
      console.log(
        `\n${DOOR_LABELS[door]}: what an open stream added to the heap, by kind (self sizes, first live wave)`,
      );
      printGroups(kinds, 30);
      console.log(
        `\n${DOOR_LABELS[door]}: the same, by owner (the outermost new object that alone keeps it alive; bytes it owns, owners a stream)`,
      );
      printGroups(owners[door] ?? [], 25);
      for (const [owner, inside] of opened[door] ?? []) {
        if (inside.length === 0) continue;
        console.log(`\n${DOOR_LABELS[door]}: what the ${owner} owners hold, by kind (self sizes, a stream)`);
        printGroups(inside, 25);
      }
    }
    for (const door of ['express', 'fetch'] as const) {
      for (const [what, frames] of [
        ['a token', results[door].perToken],
        ['a turn (less its tokens)', results[door].perTurn],
      ] as const) {
        const origins = new Map<string, number>();
        for (const { bytes, url } of frames.values()) {
          const where = frameOrigin(url);
          origins.set(where, (origins.get(where) ?? 0) + bytes);
        }
        console.log(`\n${DOOR_LABELS[door]}: ${what}, bytes by origin`);
        for (const [where, bytes] of [...origins].sort((a, b) => b[1] - a[1]).slice(0, 12)) {
          console.log(`${bytes.toFixed(0).padStart(7)} B  ${where}`);
        }
        console.log(`\n${DOOR_LABELS[door]}: ${what}, bytes by function`);
        const top = [...frames].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, 20);
        for (const [name, { bytes }] of top) console.log(`${bytes.toFixed(0).padStart(7)} B  ${name}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await upstream.close();
    benchAgent.destroy();
  }
  printIdleSocketRetries();
}

await main();
