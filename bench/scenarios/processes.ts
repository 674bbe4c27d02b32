/**
 * Scenario 6: several processes. The same closed-loop load (each user sends short turns back to
 * back) against one server process, and spread over two server processes sharing one Redis
 * (same key prefix: every user's session, lock and history are shared), in alternating windows
 * so that other work on the machine falls on both alike. Reports turns per second and where the
 * CPU went (server processes, the upstream fakes, the load generator, Redis, everything else on
 * the machine from /proc/stat).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { type BenchEnv, connectUser } from '../lib/bench-env.js';
import { fmt } from '../lib/stats.js';
import { FORMATS, postStream, userHeaders } from '../lib/stream-client.js';
import type { ScenarioResult } from './first-token.js';

/** Sizes of the scenario. */
export interface ProcessesOptions {
  /** Users sending turns at once (each waits for its answer before the next). */
  users: number;
  /** Seconds of one measured window. */
  seconds: number;
  /** Windows per setup (one process, two processes), alternating. */
  rounds: number;
}

interface Phase {
  turns: number;
  failed: number;
  seconds: number;
  /** Cores used during the phase, by part. */
  cores: Record<string, number>;
}

type Cpu = NodeJS.CpuUsage;
const cpuUs = (after: Cpu, before: Cpu) => after.user - before.user + after.system - before.system;

/**
 * Runs both phases. `freshServer(args)` starts a server process (the orchestrator's helper);
 * the servers run `--lib-redis-only` with one shared `--redis-prefix`, removed at the end.
 */
export async function processesScenario(
  freshServer: (args: string[]) => Promise<BenchEnv>,
  options: ProcessesOptions,
): Promise<ScenarioResult> {
  const prefix = `bench:mp:${randomUUID().slice(0, 8)}:`;
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
  const args = ['--redis', '--lib-redis-only', `--redis-prefix=${prefix}`];
  const users = Array.from({ length: options.users }, (_, i) => `bench-mp${i}`);
  const envs: BenchEnv[] = [];
  try {
    const first = await freshServer(args);
    envs.push(first);
    for (const user of users) await connectUser(first.ports.libRedis, user);
    const second = await freshServer(args);
    envs.push(second);
    // Warm-up: each user's first turn on a process builds that process's live MCP connection.
    for (let round = 0; round < 3; round++) {
      await Promise.all(users.map((_, i) => turn([first, second], users, i)));
      await Promise.all(users.map((_, i) => turn([first], users, i)));
    }
    let one: Phase | undefined;
    let two: Phase | undefined;
    for (let round = 0; round < options.rounds; round++) {
      one = merge(one, await window([first], envs, users, redis, options.seconds));
      two = merge(two, await window([first, second], envs, users, redis, options.seconds));
    }
    if (!one || !two) throw new Error('scenario 6 needs at least one round');
    const perSecond = (p: Phase) => p.turns / p.seconds;
    const ratio = perSecond(two) / perSecond(one);
    const parts = ['server 1', 'server 2', 'upstream fakes', 'load generator', 'Redis', 'other work on the machine'];
    const serverCpuPerTurn = (p: Phase) => {
      const cores = Object.entries(p.cores).filter(([part]) => part.startsWith('server'));
      return (cores.reduce((sum, [, value]) => sum + value, 0) * p.seconds * 1000) / p.turns;
    };
    const coreRow = (p: Phase) => parts.map((part) => (part in p.cores ? fmt(p.cores[part] ?? 0, 2) : '—')).join(' / ');
    return {
      tables: [
        {
          title: `6. One process vs two sharing Redis: ${options.users} users sending short turns back to back, ${options.rounds} alternating windows of ${options.seconds} s each`,
          headers: [
            'Setup',
            'turns',
            'failed',
            'turns/s',
            'server CPU per turn (ms)',
            `cores used: ${parts.join(' / ')}`,
          ],
          rows: [one, two].map((p, i) => [
            i === 0 ? 'one server process' : 'two server processes, one Redis',
            String(p.turns),
            String(p.failed),
            fmt(perSecond(p), 0),
            fmt(serverCpuPerTurn(p)),
            coreRow(p),
          ]),
          notes: [
            `Two processes reach ${fmt(ratio, 2)}× one process’s turns per second. The machine has 2 cores for everything`,
            'in the table (and other work): cores used by the fakes, the load generator and Redis are not left to the servers.',
            'Redis CPU is read from INFO (server-wide: other clients of this Redis add to it); "other work" is the',
            'machine’s busy time (/proc/stat) minus all of the above. Server CPU per turn counts both server processes.',
          ],
        },
      ],
      targets: [
        {
          target: 'two processes sharing Redis: ≥ 1.3× one process’s turns per second',
          measured: `${fmt(ratio, 2)}× (${fmt(perSecond(one), 0)} → ${fmt(perSecond(two), 0)} turns/s)`,
          pass: ratio >= 1.3,
        },
      ],
    };
  } finally {
    for (const env of envs) await env.server.close().catch(() => {});
    await deleteKeys(redis, prefix).catch(() => 0);
    redis.disconnect();
  }
}

/** One user's turn, on the server that serves user `i` in this setup. */
async function turn(servers: BenchEnv[], users: string[], i: number): Promise<boolean> {
  const env = servers[i % servers.length] as BenchEnv;
  const timing = await postStream(
    env.url(env.ports.libRedis, '/llmchat/chat'),
    { message: 'hello', streaming: true },
    FORMATS.lib,
    { headers: userHeaders(users[i] as string) },
  ).catch(() => undefined);
  return timing !== undefined && timing.status === 200 && timing.complete;
}

/** Every user sends turns to `active` for `seconds`; CPU is read from every process in `all`. */
async function window(
  active: BenchEnv[],
  all: BenchEnv[],
  users: string[],
  redis: Redis,
  seconds: number,
): Promise<Phase> {
  const upstream = all[0]?.upstream;
  const cpu = () =>
    Promise.all([
      ...all.map((env) => env.server.call<Cpu>('cpu')),
      upstream?.call<Cpu>('cpu'),
      Promise.resolve(process.cpuUsage()),
      redisCpuUs(redis),
      Promise.resolve(machineBusyUs()),
    ]);
  const before = await cpu();
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let turns = 0;
  let failed = 0;
  await Promise.all(
    users.map(async (_, i) => {
      while (performance.now() < deadline) {
        if (await turn(active, users, i)) turns += 1;
        else failed += 1;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const after = await cpu();
  const cores: Record<string, number> = {};
  const share = (us: number) => us / 1e6 / elapsed;
  all.forEach((_, i) => {
    cores[`server ${i + 1}`] = share(cpuUs(after[i] as Cpu, before[i] as Cpu));
  });
  const n = all.length;
  cores['upstream fakes'] = share(cpuUs(after[n] as Cpu, before[n] as Cpu));
  cores['load generator'] = share(cpuUs(after[n + 1] as Cpu, before[n + 1] as Cpu));
  cores.Redis = share((after[n + 2] as number) - (before[n + 2] as number));
  const machine = share((after[n + 3] as number) - (before[n + 3] as number));
  const ours = Object.values(cores).reduce((sum, value) => sum + value, 0);
  if (machine > 0) cores['other work on the machine'] = Math.max(0, machine - ours);
  return { turns, failed, seconds: elapsed, cores };
}

/** Two phases' sums: turns and seconds added, cores weighted by time. */
function merge(total: Phase | undefined, next: Phase): Phase {
  if (!total) return next;
  const seconds = total.seconds + next.seconds;
  const cores: Record<string, number> = {};
  for (const part of new Set([...Object.keys(total.cores), ...Object.keys(next.cores)])) {
    cores[part] = ((total.cores[part] ?? 0) * total.seconds + (next.cores[part] ?? 0) * next.seconds) / seconds;
  }
  return { turns: total.turns + next.turns, failed: total.failed + next.failed, seconds, cores };
}

/** Busy CPU time of the whole machine so far (µs), from /proc/stat; 0 where there is none. */
function machineBusyUs(): number {
  try {
    const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
    const total = fields.reduce((sum, value) => sum + value, 0);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    // USER_HZ is 100 on Linux.
    return ((total - idle) / 100) * 1e6;
  } catch {
    return 0;
  }
}

/** Redis server CPU so far (user + system), in µs, from INFO cpu. */
async function redisCpuUs(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const read = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return (read('used_cpu_user') + read('used_cpu_sys')) * 1e6;
}

async function deleteKeys(client: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await client.del(...keys);
  } while (cursor !== '0');
}
