/**
 * `npm run bench:sparse`: what the server spends on a token when every token is its own network
 * read (a provider answering at reading speed, as in scenario 4's waves), against the bare relay.
 * Scenario 2 (the relay) measures the opposite case, tokens arriving faster than they are read,
 * where a read carries many of them and the library is below the floor.
 *
 * Each door gets a fresh server process (the esbuild bundle `npm run bench` runs). The library's
 * users connect, two warm-up waves run; then, `--reps` times, a wave of one-token answers and a
 * wave of `--tokens`-token answers 20 ms apart, each timed by the server's own CPU (user and
 * system apart). The difference between the two waves, over the extra tokens, is a token's share;
 * the one-token wave less one token is a turn's own. Then one more pair of waves counts the
 * promises the server creates (an async hook, in a pass of its own since it slows every promise).
 * With `--profile`, a V8 CPU profile of the first long wave of each door is written to
 * bench/.profiles (summarize with `npx tsx bench/profile-summary.ts <file>`).
 *
 * Flags: `--streams N` (default 100: few enough that the server is not saturated, so tokens
 * stay one a read), `--tokens N` (default 50), `--reps N` (default 3), `--profile`,
 * `--promise-origins` (the promise pass also tallies where each promise was made: a token's
 * promises by function and caller, the list to shorten).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BenchEnv, connectUser, startServer, workerScripts } from './lib/bench-env.js';
import { buildWorkers } from './lib/build-workers.js';
import { DOOR_LABELS, DOORS, type Door, doorPort, streamThrough } from './lib/doors.js';
import { numberFlag } from './lib/flags.js';
import { startWorker } from './lib/ipc.js';
import { summarize } from './lib/stats.js';
import { benchAgent, printIdleSocketRetries } from './lib/stream-client.js';
import type { UpstreamInfo } from './server.js';

const argv = process.argv.slice(2);
const streams = numberFlag('--streams', 100);
const tokens = numberFlag('--tokens', 50);
const reps = numberFlag('--reps', 3);
const profile = argv.includes('--profile');
const withOrigins = argv.includes('--promise-origins');
const profileDir = fileURLToPath(new URL('./.profiles', import.meta.url));
const median = (values: readonly number[]) => summarize(values).median;

interface Cpu {
  user: number;
  system: number;
}

/** One wave of `users` streams of `count` tokens 20 ms apart through `door`. */
async function wave(env: BenchEnv, door: Door, users: string[], count: number): Promise<void> {
  const results = await Promise.all(users.map((user) => streamThrough(env, door, user, `slow ${count} 20`)));
  const incomplete = results.filter((timing) => timing.status !== 200 || !timing.complete).length;
  if (incomplete > 0) throw new Error(`${door}: ${incomplete} of ${users.length} streams did not complete`);
}

/** The server's CPU (µs) a wave took. */
async function timedWave(env: BenchEnv, door: Door, users: string[], count: number): Promise<Cpu> {
  const before = await env.server.call<Cpu>('cpu');
  await wave(env, door, users, count);
  const after = await env.server.call<Cpu>('cpu');
  return { user: after.user - before.user, system: after.system - before.system };
}

interface DoorFigures {
  /** µs of server CPU a token, user and system, one figure a rep. */
  tokenUser: number[];
  tokenSystem: number[];
  /** µs of server CPU a turn less its one token, one figure a rep. */
  turn: number[];
  promisesPerToken: number;
  promisesPerTurn: number;
  /** With `--promise-origins`: promises a token by the code that made them, from a pass of their own. */
  tokenOrigins: Array<[string, number]>;
  /** The promises a token that pass counted (fewer than the plain pass when the stacks saturated the server). */
  tracedPerToken: number;
}

async function measure(
  upstream: Awaited<ReturnType<typeof startWorker>>,
  info: UpstreamInfo,
  door: Door,
  script: string,
) {
  const env = await startServer(upstream, info, ['--no-aisdk'], [], script);
  const users = Array.from({ length: streams }, (_, i) => `sparse-${door}-${i}`);
  const figures: DoorFigures = {
    tokenUser: [],
    tokenSystem: [],
    turn: [],
    promisesPerToken: 0,
    promisesPerTurn: 0,
    tokenOrigins: [],
    tracedPerToken: 0,
  };
  try {
    if (door !== 'floor') {
      for (let i = 0; i < users.length; i += 50) {
        await Promise.all(users.slice(i, i + 50).map((user) => connectUser(doorPort(env, door), user)));
      }
    }
    await wave(env, door, users, tokens);
    await wave(env, door, users, 1);
    for (let rep = 0; rep < reps; rep++) {
      const one = await timedWave(env, door, users, 1);
      if (profile && rep === 0) await env.server.call('cpuProfileStart', 100);
      const many = await timedWave(env, door, users, tokens);
      if (profile && rep === 0) {
        mkdirSync(profileDir, { recursive: true });
        await env.server.call('cpuProfileStop', join(profileDir, `sparse-${door}.cpuprofile`));
      }
      const extra = (tokens - 1) * streams;
      const tokenUser = (many.user - one.user) / extra;
      const tokenSystem = (many.system - one.system) / extra;
      figures.tokenUser.push(tokenUser);
      figures.tokenSystem.push(tokenSystem);
      figures.turn.push((one.user + one.system) / streams - tokenUser - tokenSystem);
    }
    const counted = async (count: number, origins: boolean) => {
      await env.server.call('promiseCountStart', origins);
      await wave(env, door, users, count);
      const total = await env.server.call<number>('promiseCountStop');
      return { total, origins: await env.server.call<Record<string, number>>('promiseOrigins') };
    };
    const extra = (tokens - 1) * streams;
    const one = await counted(1, false);
    const many = await counted(tokens, false);
    figures.promisesPerToken = (many.total - one.total) / extra;
    figures.promisesPerTurn = one.total / streams - figures.promisesPerToken;
    if (withOrigins) {
      // A pass of its own: taking a stack for every promise slows the server enough that it reads
      // several tokens at once, which would change the counts above.
      const oneTraced = await counted(1, true);
      const manyTraced = await counted(tokens, true);
      figures.tracedPerToken = (manyTraced.total - oneTraced.total) / extra;
      figures.tokenOrigins = Object.entries(manyTraced.origins)
        .map(([origin, n]): [string, number] => [origin, (n - (oneTraced.origins[origin] ?? 0)) / extra])
        .filter(([, perToken]) => perToken >= 0.05)
        .sort((a, b) => b[1] - a[1]);
    }
  } finally {
    await env.server.close();
  }
  return figures;
}

async function main(): Promise<void> {
  const upstream = await startWorker(workerScripts.upstream);
  const info = await upstream.call<UpstreamInfo>('info');
  try {
    const bundled = await buildWorkers();
    const results = {} as Record<Door, DoorFigures>;
    for (const door of DOORS) results[door] = await measure(upstream, info, door, bundled.server);
    const floor = results.floor;
    const floorToken = median(floor.tokenUser) + median(floor.tokenSystem);
    console.log(
      `node ${process.version}; ${streams} streams a wave, 1 and ${tokens} tokens 20 ms apart, each token its own network read; ${reps} reps (medians, each rep's figures in brackets)\n`,
    );
    console.log(
      '| door | µs a token, user + system | × floor | µs a turn (less its token) | promises a token | promises a turn |',
    );
    console.log('|---|---|---|---|---|---|');
    for (const door of DOORS) {
      const r = results[door];
      const user = median(r.tokenUser);
      const system = median(r.tokenSystem);
      const each = r.tokenUser.map((u, i) => (u + (r.tokenSystem[i] as number)).toFixed(1)).join(', ');
      console.log(
        `| ${DOOR_LABELS[door]} | ${user.toFixed(1)} + ${system.toFixed(1)} [${each}] | ${((user + system) / floorToken).toFixed(2)} | ${median(r.turn).toFixed(0)} [${r.turn.map((t) => t.toFixed(0)).join(', ')}] | ${r.promisesPerToken.toFixed(1)} | ${r.promisesPerTurn.toFixed(0)} |`,
      );
    }
    if (withOrigins) {
      for (const door of DOORS) {
        if (results[door].tokenOrigins.length === 0) continue;
        console.log(
          `\n${DOOR_LABELS[door]}: promises a token, by the code that made them (function < its caller); that pass counted ${results[door].tracedPerToken.toFixed(1)} a token in all`,
        );
        for (const [origin, perToken] of results[door].tokenOrigins)
          console.log(`  ${perToken.toFixed(2).padStart(5)}  ${origin}`);
      }
    }
    console.log(
      "\nThe floor pipes the provider's socket to the client's with node:http: no promise, no parsing. A token's \"system\" time is its two socket calls (a read, a write), the same for every door.",
    );
  } finally {
    await upstream.close();
    benchAgent.destroy();
  }
  printIdleSocketRetries();
}

await main();
