/**
 * `npm run bench:soak -- --minutes 10`: mixed traffic against one server process (memory
 * storage; `--redis` for Redis), sampling its RSS, heap (after a forced GC) and open handles
 * (`process.getActiveResourcesInfo()`) every few seconds, then reporting whether they stay flat
 * (least-squares slope over the run after a warm-up fifth).
 *
 * Traffic, from `--concurrency` loops (each owns its users, so turns never collide): plain chats,
 * tool chats, streams aborted by the client after the first token, reconnects (a new MCP session
 * replacing the old), and disconnect + a chat that must fail + reconnect.
 *
 * Flags: `--minutes N` (default 10), `--concurrency N` (default 12), `--users N` (default 48),
 * `--sample-seconds N` (default 5), `--redis`.
 */
import { redisAnswers } from '../test/fixtures/shared-redis.js';
import { connectUser, startServer, workerScripts } from './lib/bench-env.js';
import { buildWorkers } from './lib/build-workers.js';
import { numberFlag } from './lib/flags.js';
import { startWorker } from './lib/ipc.js';
import { renderTable } from './lib/report.js';
import { fmt, slope } from './lib/stats.js';
import { benchAgent, FORMATS, postJson, postStream, printIdleSocketRetries, userHeaders } from './lib/stream-client.js';
import type { UpstreamInfo } from './server.js';

const argv = process.argv.slice(2);
const minutes = numberFlag('--minutes', 10);
const concurrency = numberFlag('--concurrency', 12);
const userCount = Math.max(concurrency, numberFlag('--users', 48));
const sampleMs = numberFlag('--sample-seconds', 5) * 1000;
const useRedis = argv.includes('--redis');

interface Sample {
  atS: number;
  rssMb: number;
  heapMb: number;
  handles: number;
  sockets: number;
}

type Op = 'chat' | 'tool' | 'abort' | 'reconnect' | 'disconnect';
const WEIGHTS: Array<[Op, number]> = [
  ['chat', 35],
  ['tool', 25],
  ['abort', 15],
  ['reconnect', 15],
  ['disconnect', 10],
];

function pickOp(): Op {
  let roll = Math.random() * 100;
  for (const [op, weight] of WEIGHTS) {
    roll -= weight;
    if (roll < 0) return op;
  }
  return 'chat';
}

async function main(): Promise<void> {
  if (useRedis && !(await redisAnswers())) {
    console.warn('!!! --redis given but Redis does not answer: running on memory storage !!!');
  }
  Object.assign(workerScripts, await buildWorkers());
  const upstream = await startWorker(workerScripts.upstream);
  const info = await upstream.call<UpstreamInfo>('info');
  const args = ['--only-lib', ...(useRedis && (await redisAnswers()) ? ['--redis'] : [])];
  const env = await startServer(upstream, info, args, ['--expose-gc']);
  const port = env.ports.libRedis ?? env.ports.lib;
  const chatUrl = env.url(port, '/llmchat/chat');
  const users = Array.from({ length: userCount }, (_, i) => `soak-${i}`);
  for (const user of users) await connectUser(port, user);

  const counts: Record<string, number> = {};
  const count = (key: string) => {
    counts[key] = (counts[key] ?? 0) + 1;
  };
  const chat = async (user: string, message: string, expect: string) => {
    for (let attempt = 0; attempt < 20; attempt++) {
      const timing = await postStream(chatUrl, { message, streaming: true }, FORMATS.lib, {
        headers: userHeaders(user),
        keepBody: true,
      });
      // An aborted turn of this user may still be winding down on the server.
      if (timing.status === 409) {
        count('409 (previous turn still closing), retried');
        await new Promise((resolve) => setTimeout(resolve, 25));
        continue;
      }
      if (timing.status === 400) return count('chat without session (expected after disconnect)');
      if (timing.status !== 200 || !timing.complete || !timing.body?.includes(expect)) return count('unexpected');
      return count(message.startsWith('add') ? 'tool chat' : 'plain chat');
    }
    count('unexpected');
  };
  const runOp = async (user: string): Promise<void> => {
    switch (pickOp()) {
      case 'chat':
        return chat(user, 'hello', 'Hello');
      case 'tool':
        return chat(user, 'add 2 and 3', 'is 5.');
      case 'abort': {
        const timing = await postStream(chatUrl, { message: 'slow 30 10', streaming: true }, FORMATS.lib, {
          headers: userHeaders(user),
          abortAfterFirstMs: 30,
        });
        return count(timing.complete ? 'unexpected' : 'aborted stream');
      }
      case 'reconnect':
        await connectUser(port, user);
        return count('reconnect');
      case 'disconnect': {
        const answer = await postJson(env.url(port, '/llmchat/disconnect'), {}, userHeaders(user));
        count(answer.status === 200 ? 'disconnect' : 'unexpected');
        await chat(user, 'hello', 'Hello');
        await connectUser(port, user);
        return count('reconnect');
      }
    }
  };

  const samples: Sample[] = [];
  const started = performance.now();
  const sample = async () => {
    await env.server.call('gc');
    const mem = await env.server.call<NodeJS.MemoryUsage>('mem');
    const handles = await env.server.call<Record<string, number>>('handles');
    const total = Object.values(handles).reduce((sum, value) => sum + value, 0);
    const point: Sample = {
      atS: (performance.now() - started) / 1000,
      rssMb: mem.rss / 2 ** 20,
      heapMb: mem.heapUsed / 2 ** 20,
      handles: total,
      sockets: handles.TCPSocketWrap ?? 0,
    };
    samples.push(point);
    console.log(
      `t=${fmt(point.atS, 0)}s rss=${fmt(point.rssMb, 1)}MB heap=${fmt(point.heapMb, 1)}MB handles=${point.handles} (sockets ${point.sockets}) ops=${Object.values(counts).reduce((a, b) => a + b, 0)}`,
    );
  };

  const deadline = started + minutes * 60_000;
  let sampling = true;
  const sampler = (async () => {
    await sample();
    while (sampling) {
      await new Promise((resolve) => setTimeout(resolve, sampleMs));
      if (sampling) await sample();
    }
  })();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, loop) => {
      const mine = users.filter((_, i) => i % concurrency === loop);
      while (performance.now() < deadline) {
        const user = mine[Math.floor(Math.random() * mine.length)] as string;
        try {
          await runOp(user);
        } catch {
          count('unexpected');
        }
      }
    }),
  );
  sampling = false;
  await sampler;
  // Idle for a moment: aborted turns finish, keep-alive sockets settle.
  const busy = [...samples];
  await new Promise((resolve) => setTimeout(resolve, 2000));
  await sample();

  const steady = busy.filter((point) => point.atS >= (minutes * 60) / 5);
  const xs = steady.map((point) => point.atS / 60);
  const perMinute = (pick: (point: Sample) => number) => slope(xs, steady.map(pick));
  const heapSlope = perMinute((point) => point.heapMb);
  const rssSlope = perMinute((point) => point.rssMb);
  const handleSlope = perMinute((point) => point.handles);
  // Only growth is a problem; a falling line (caches settling, GC) is fine.
  // Under ~5 minutes the warm-up (JIT, caches, the users' MCP sessions filling in) dominates the line.
  const verdict = (value: number, limit: number) =>
    minutes < 5 ? 'too short to judge' : value <= limit ? 'flat' : 'GROWING';
  console.log(
    `\n${renderTable({
      title: `Soak: ${minutes} min, ${concurrency} loops over ${userCount} users (${useRedis ? 'Redis' : 'memory'} storage)`,
      headers: ['Measure', 'first → last busy → idle after', 'slope (busy, after warm-up)', 'verdict (limit)'],
      rows: [
        [
          'heap used after GC (MB)',
          `${fmt(samples[0]?.heapMb ?? 0, 1)} → ${fmt(busy.at(-1)?.heapMb ?? 0, 1)} → ${fmt(samples.at(-1)?.heapMb ?? 0, 1)}`,
          `${fmt(heapSlope, 2)} MB/min`,
          `${verdict(heapSlope, 1)} (≤ 1 MB/min)`,
        ],
        [
          'RSS (MB)',
          `${fmt(samples[0]?.rssMb ?? 0, 1)} → ${fmt(busy.at(-1)?.rssMb ?? 0, 1)} → ${fmt(samples.at(-1)?.rssMb ?? 0, 1)}`,
          `${fmt(rssSlope, 2)} MB/min`,
          `${verdict(rssSlope, 3)} (≤ 3 MB/min)`,
        ],
        [
          'active handles',
          `${samples[0]?.handles ?? 0} → ${busy.at(-1)?.handles ?? 0} → ${samples.at(-1)?.handles ?? 0}`,
          `${fmt(handleSlope, 2)} /min`,
          `${verdict(handleSlope, 2)} (≤ 2 /min)`,
        ],
      ],
      notes: [`Operations: ${JSON.stringify(counts)}`, `Samples: ${samples.length}, every ${sampleMs / 1000} s.`],
    })}`,
  );
  await env.server.close();
  await upstream.close();
  benchAgent.destroy();
  printIdleSocketRetries();
  if ((counts.unexpected ?? 0) > 0) process.exitCode = 1;
}

await main();
