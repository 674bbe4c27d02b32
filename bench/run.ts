/**
 * `npm run bench`: the performance benchmarks of mcp-llmchat (issues 4 and 7).
 *
 * Three kinds of process, all on loopback: this one is the client (and runs the in-process and
 * plain-script baselines); `bench/upstream.ts` holds the fake OpenAI-compatible provider and a
 * real MCP server; `bench/server.ts` holds the servers under test, so their CPU time, memory and
 * event-loop delay are measured apart from the load generator and the fakes. Scenario 4 gets a
 * fresh server process of its own. Every comparison is interleaved within one run.
 *
 * Flags: `--only 1,3` (scenario numbers), `--quick` (fewer turns, for a smoke run),
 * `--variants fetch-memory,floor` (only those rows of scenarios 1–3, to profile one path),
 * `--profile` (run the server under `--cpu-prof`, profiles in bench/.profiles; summarize them
 * with `npx tsx bench/profile-summary.ts <file>`), `--no-write` (do not write RESULTS.md),
 * `--redis-autopipelining` (the servers' ioredis client with `enableAutoPipelining`, to weigh it),
 * `--no-bridge` (scenario 4a leaves out the library's Node bridge on node:http without Express,
 * which tells what Express itself adds).
 * `BENCH_NODE=$(scripts/ensure-node.sh 24) npm run bench` runs the server and upstream processes on
 * that Node (the client stays on this one).
 */
import { execSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { redisAnswers } from '../test/fixtures/shared-redis.js';
import { type BenchEnv, startServer, workerScripts } from './lib/bench-env.js';
import { buildWorkers } from './lib/build-workers.js';
import { DOORS } from './lib/doors.js';
import { variantFilter } from './lib/interleave.js';
import { startWorker } from './lib/ipc.js';
import { renderTable, summaryTable, type Table, type TargetRow } from './lib/report.js';
import { benchAgent, idleSocketRetriesNote, printIdleSocketRetries } from './lib/stream-client.js';
import { concurrencyScenario } from './scenarios/concurrency.js';
import { firstTokenScenario, type ScenarioResult } from './scenarios/first-token.js';
import { processesScenario } from './scenarios/processes.js';
import { redisCostScenario } from './scenarios/redis-cost.js';
import { relayScenario } from './scenarios/relay.js';
import { streamMemoryScenario } from './scenarios/stream-memory.js';
import { toolTurnScenario } from './scenarios/tool-turn.js';
import type { UpstreamInfo } from './server.js';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const profile = argv.includes('--profile');
const write = !argv.includes('--no-write');
// Passed on to every server process that uses Redis.
const redisFlags = argv.includes('--redis-autopipelining') ? ['--redis-autopipelining'] : [];
const onlyIndex = argv.indexOf('--only');
const only = new Set(onlyIndex >= 0 ? (argv[onlyIndex + 1] ?? '').split(',').map(Number) : [1, 2, 3, 4, 5, 6]);
const variantsIndex = argv.indexOf('--variants');
if (variantsIndex >= 0) for (const name of (argv[variantsIndex + 1] ?? '').split(',')) variantFilter.add(name);
const profileDir = fileURLToPath(new URL('./.profiles', import.meta.url));

const sizes = quick
  ? {
      firstToken: { turns: 40, warmup: 10, settle: 40 },
      relay: { tokens: 20_000, turns: 2, warmup: 1 },
      tool: { turns: 30, warmup: 5 },
      concurrency: { streams: 200, connectBatch: 50, tokens: 50, delayMs: 20 },
      memory: { streams: 100, connectBatch: 50, tokens: 50, delayMs: 20, rounds: 1 },
      redis: { turns: 30 },
      processes: { users: 8, seconds: 1, rounds: 2 },
    }
  : {
      firstToken: { turns: 300, warmup: 40, settle: 1200 },
      relay: { tokens: 20_000, turns: 8, warmup: 2 },
      tool: { turns: 200, warmup: 30 },
      concurrency: { streams: 1000, connectBatch: 50, tokens: 50, delayMs: 20 },
      memory: { streams: 500, connectBatch: 50, tokens: 50, delayMs: 20, rounds: 5 },
      redis: { turns: 200 },
      processes: { users: 16, seconds: 2, rounds: 4 },
    };

function machine(): string[] {
  let nproc = String(availableParallelism());
  try {
    nproc = execSync('nproc', { encoding: 'utf8' }).trim();
  } catch {
    // nproc missing: availableParallelism() is the same figure on Linux
  }
  return [
    `- date: ${new Date().toISOString()}`,
    `- machine: nproc ${nproc}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM`,
    `- node ${process.version}, ${process.platform} ${process.arch}; load average now ${loadavg()
      .map((value) => value.toFixed(2))
      .join(' / ')} (1 / 5 / 15 min: other work on the machine inflates absolute times)`,
    `- command: \`npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}\`${quick ? ' (quick: reduced turn counts)' : ''}`,
  ];
}

async function main(): Promise<void> {
  const started = performance.now();
  const tables: Table[] = [];
  const targets: TargetRow[] = [];
  const record = (title: string, result: ScenarioResult) => {
    for (const table of result.tables) {
      tables.push(table);
      console.log(`\n${renderTable(table)}`);
    }
    targets.push(...result.targets);
    console.log(`(${title} done at ${((performance.now() - started) / 1000).toFixed(0)} s)`);
  };

  const hasRedis = await redisAnswers();
  if (!hasRedis) {
    console.warn('\n!!! Redis does not answer at REDIS_URL / 127.0.0.1:6379: the Redis variants are SKIPPED !!!\n');
  }
  console.log(machine().join('\n'));
  if (!profile) Object.assign(workerScripts, await buildWorkers());
  const upstream = await startWorker(workerScripts.upstream);
  const info = await upstream.call<UpstreamInfo>('info');
  let env: BenchEnv | undefined;
  try {
    if ([1, 2, 3, 5].some((n) => only.has(n))) {
      if (profile) mkdirSync(profileDir, { recursive: true });
      const flags = profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
      env = await startServer(upstream, info, hasRedis ? ['--redis', ...redisFlags] : [], flags);
      if (only.has(1)) record('scenario 1', await firstTokenScenario(env, sizes.firstToken));
      if (only.has(2)) record('scenario 2', await relayScenario(env, sizes.relay));
      if (only.has(3)) record('scenario 3', await toolTurnScenario(env, sizes.tool));
      if (only.has(5)) {
        if (hasRedis) record('scenario 5', await redisCostScenario(env, sizes.redis));
        else
          targets.push({
            target: '≤ 8 Redis commands per plain turn (issue 11: event log included)',
            measured: 'skipped: no Redis',
            pass: undefined,
          });
      }
      await env.server.close();
      env = undefined;
    }
    if (only.has(4)) {
      if (profile) mkdirSync(profileDir, { recursive: true });
      const profileFlags = profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
      const bridge = !argv.includes('--no-bridge');
      const fresh = () =>
        startServer(upstream, info, ['--no-aisdk', ...(bridge ? ['--bridge'] : [])], ['--expose-gc', ...profileFlags]);
      const memory = bridge ? { ...sizes.memory, doors: [...DOORS, 'bridge' as const] } : sizes.memory;
      record('scenario 4a', await streamMemoryScenario(fresh, memory));
      for (const via of ['express', 'fetch'] as const) {
        const server = await fresh();
        try {
          record(`scenario 4 (${via})`, await concurrencyScenario(server, { ...sizes.concurrency, via }));
        } finally {
          await server.server.close();
        }
      }
    }
    if (only.has(6)) {
      if (hasRedis) {
        const flags = profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
        if (profile) mkdirSync(profileDir, { recursive: true });
        record(
          'scenario 6',
          await processesScenario(
            (args) => startServer(upstream, info, [...args, ...redisFlags], flags),
            sizes.processes,
          ),
        );
      } else {
        targets.push({
          target: 'two processes sharing Redis: ≥ 1.3× one process’s turns per second',
          measured: 'skipped: no Redis',
          pass: undefined,
        });
      }
    }
  } finally {
    await env?.server.close();
    await upstream.close();
    benchAgent.destroy();
  }

  const summary = summaryTable(targets);
  console.log(`\n${renderTable(summary)}`);
  const seconds = (performance.now() - started) / 1000;
  console.log(`\nTotal ${seconds.toFixed(0)} s.`);
  printIdleSocketRetries();
  if (write) {
    const file = fileURLToPath(new URL('./RESULTS.md', import.meta.url));
    writeFileSync(file, resultsMarkdown(summary, tables, seconds));
    console.log(`Wrote ${file}`);
  }
}

function resultsMarkdown(summary: Table, tables: Table[], seconds: number): string {
  return [
    '# mcp-llmchat benchmarks',
    '',
    ...machine(),
    `- duration: ${seconds.toFixed(0)} s`,
    ...[idleSocketRetriesNote()].flatMap((note) => (note ? [`- ${note}`] : [])),
    '',
    'Loopback only: the fake OpenAI-compatible provider and a real MCP server (Streamable HTTP) run in',
    'one process (`bench/upstream.ts`), the servers under test in another (`bench/server.ts`), the',
    'client in a third (`bench/run.ts`); the two children run as esbuild bundles on plain Node (no tsx).',
    'Comparisons are interleaved turn by turn in the same run, in balanced orders (every variant runs',
    'right after every other equally often);',
    'on a noisy machine the differences and ratios matter, not the absolute times.',
    '',
    renderTable(summary),
    '',
    ...tables.flatMap((table) => [renderTable(table), '']),
    NOTES,
    analysis(),
  ].join('\n');
}

/** The hand-written analysis of the misses (bench/ANALYSIS.md), kept with every figures file. */
function analysis(): string {
  const file = fileURLToPath(new URL('./ANALYSIS.md', import.meta.url));
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

const NOTES = `## How to read and reproduce

- \`npm run bench\` runs scenarios 1–6 (about 4–5 minutes on 2 cores); \`npm run bench -- --only 2,3\` runs some;
  \`--variants fetch-memory,floor\` runs only those rows of scenarios 1–3 (to profile one path);
  \`--quick\` is a smoke run; \`--profile\` writes V8 CPU profiles of the server processes to
  \`bench/.profiles/\` (summarize with \`npx tsx bench/profile-summary.ts bench/.profiles/<file>.cpuprofile\`);
  scenario 4a also runs the library's Node bridge on plain node:http without Express (what Express
  itself adds is the difference; \`--no-bridge\` leaves it out).
- \`npm run bench:soak -- --minutes 10\`: mixed traffic, reports whether RSS, heap and handles stay flat.
- The floor is a bare \`node:http\` server that sends the provider request and pipes its stream to the
  client untouched. The AI SDK server runs \`streamText\` (\`@ai-sdk/openai-compatible\`, MCP tools from
  \`@ai-sdk/mcp\` connected once at start-up, \`stopWhen: stepCountIs(10)\`) and streams with
  \`result.pipeUIMessageStreamToResponse(res)\`, on Express like mcp-llmchat.
- "handler.fetch on node:http" is \`createServer(getRequestListener(handler.fetch))\` from
  \`@hono/node-server\` (what a Hono app on Node runs), with \`overrideGlobalObjects: false\` so the
  Express rows in the same process keep Node's own \`Request\`/\`Response\`; routes under \`/llmchat\` (\`basePath\`).
- Every mcp-llmchat turn records its event log (there is no switch to turn it off); telemetry is off in
  every row. "named conversation" sends \`conversation_id\` (its history is cleared between turns, untimed);
  "approvals configured" runs \`toolApproval: () => 'allow'\`, so the gate runs on each call and never asks.
- mcp-llmchat runs with \`maxHistoryTurns: 1\` so that each measured turn sends about the same request as
  the stateless peers; users are connected before measuring.
- The relay scenario uses a "burst" front of the fake: the fixture fake's own frames, each frame one
  \`write()\`, as fast as the socket takes them (the fixture fake itself waits one event-loop turn per frame,
  about 30 µs, which would make the fake the bottleneck).
- Scenario 4a starts a fresh server process per wave (same build, users connected first for the library
  rows), runs five waves per row with the rows taking turns, and compares median peaks (one wave's peak
  moves by 20 MB or more, the floor's too). A peak is the kernel's (\`VmHWM\`, reset as the wave starts
  through /proc/self/clear_refs), so nothing between two RSS samples is missed; scenario 4 runs 1,000
  streams through each door in its own process, the same way.
- Scenario 6: 16 users send short turns back to back, in 4 alternating 2 s windows to one server process
  and spread over two processes with one Redis key prefix (shared sessions, locks and history); 3 warm-up
  rounds each (a user's first turn on a process builds that process's MCP connection).
`;

await main();
