/**
 * Connected but idle users (issue 17): what each one weighs, and whether 10,000 of them fit in
 * one process and can all chat at once.
 *
 * The upstream (`bench/upstream.ts`: fake OpenAI-compatible LLM and a real MCP server over
 * Streamable HTTP) runs in one process; one chat handler with memory storage runs in another
 * (`bench/idle-users-server.ts`, an esbuild bundle on plain Node with `--expose-gc`), called
 * in-process through `handler.fetch`. Steps:
 * 1. connect 200 users (warm-up), collect garbage, measure; connect the rest, measure again:
 *    heap per user (after GC), RSS (right after the connects, after 30 s left alone, and once
 *    the heap is compacted), open sockets in the handler's process, MCP sessions the server
 *    holds, connects per second;
 * 2. every user chats at once: a plain turn, and every 20th a tool turn;
 * 3. 100 users who have not called a tool yet run a tool turn (cold: the MCP connection is made
 *    by it) and at once another (warm), one user after the other: the cold call's extra latency;
 * 4. after the idle time, sockets and MCP sessions again;
 * 5. connects per second once more, for users whose server is configured alike (step 1 gives each
 *    user a header of their own, as per-user credentials would): these share the listing that
 *    runs when they connect.
 *
 * Run: `npm run bench:idle-users` (USERS=10000 by default; `--tsx` runs the handler's process
 * under tsx instead of a bundle; CONNECT_ONLY=1 stops after step 1 and prints its raw figures).
 */
import { loadavg } from 'node:os';
import type { ChatAllResult, IdleMeasure } from './idle-users-server.js';
import { bundleBenchScripts } from './lib/build-workers.js';
import { type BenchWorker, startWorker } from './lib/ipc.js';
import { fmt, summarize } from './lib/stats.js';

const USERS = Number(process.env.USERS ?? 10_000);
const WARM_UP = 200;
const CONCURRENCY = 32;
const TOOL_EVERY = 20;
const COLD_SAMPLE = 100;
const SHARED_USERS = 2_000;
const IDLE_MS = 5_000;
const LEFT_ALONE_MS = 30_000;
const TARGET_HEAP_PER_USER = 20 * 1024;
const TARGET_RSS = 300 * 1024 * 1024;

const mb = (bytes: number) => `${fmt(bytes / 1024 / 1024, 1)} MB`;
const kb = (bytes: number) => `${fmt(bytes / 1024, 2)} KB`;

async function subjectScript(): Promise<string> {
  if (process.argv.includes('--tsx')) return 'idle-users-server.ts';
  await bundleBenchScripts(['idle-users-server']);
  return '.build/idle-users-server.mjs';
}

async function main(): Promise<void> {
  const upstream = await startWorker('upstream.ts');
  let subject: BenchWorker | undefined;
  try {
    const info = await upstream.call<{ llmUrl: string; mcpUrl: string }>('info');
    subject = await startWorker(await subjectScript(), { nodeFlags: ['--expose-gc'] });
    await subject.call('start', { llmUrl: info.llmUrl, mcpUrl: info.mcpUrl, idleMs: IDLE_MS });
    const mcpSessions = () => upstream.call<number>('mcpSessions');
    const measure = () => (subject as BenchWorker).call<IdleMeasure>('measure');
    const users = Array.from({ length: USERS }, (_, i) => `u${i}`);

    // 1. Connect.
    const before = await measure();
    await subject.call('connect', { from: 0, to: WARM_UP, concurrency: CONCURRENCY });
    const warm = await measure();
    const connected = await subject.call<{ elapsedMs: number; failed: number }>('connect', {
      from: WARM_UP,
      to: USERS,
      concurrency: CONCURRENCY,
    });
    const idle = await measure();
    const idleSessions = await mcpSessions();
    const heapPerUser = (idle.heapUsed - warm.heapUsed) / (USERS - WARM_UP);
    const connectsPerSecond = ((USERS - WARM_UP) / connected.elapsedMs) * 1000;
    // Right after the burst of connects, V8 holds pages full of their garbage; left alone it
    // gives some back (its memory reducer), and a few more collections compact the rest.
    const leftAlone = await subject.call<IdleMeasure>('measure', { waitMs: LEFT_ALONE_MS });
    const settled = await subject.call<IdleMeasure>('measure', { settle: 20 });
    if (process.env.CONNECT_ONLY) {
      process.stdout.write(
        `${JSON.stringify({ before, warm, idle, leftAlone, settled, heapPerUser, connectsPerSecond })}\n`,
      );
      return;
    }

    // 2. Everyone chats at once.
    const all = await subject.call<ChatAllResult>('chatAll', { users, toolEvery: TOOL_EVERY });
    const afterChat = await measure();
    const sessionsAfterChat = await mcpSessions();

    // 3. Cold and warm tool calls, one user after the other (users who have not called a tool).
    const sample = users.filter((_, index) => index % TOOL_EVERY !== 0).slice(0, COLD_SAMPLE);
    const cold: number[] = [];
    const warmTurns: number[] = [];
    for (const user of sample) {
      cold.push(...(await subject.call<number[]>('toolTurns', { users: [user], message: 'add 2 and 3' })));
      warmTurns.push(...(await subject.call<number[]>('toolTurns', { users: [user], message: 'add 4 and 5' })));
    }
    const coldSummary = summarize(cold);
    const warmSummary = summarize(warmTurns);
    const paired = summarize(cold.map((value, i) => value - (warmTurns[i] as number)));

    // 4. Idle again.
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS * 2 + 1_000));
    const end = await measure();
    const sessionsEnd = await mcpSessions();

    // 5. Users whose server is configured alike (no credentials of their own) share the listing
    // running when they connect.
    const shared = await subject.call<{ elapsedMs: number; failed: number }>('connect', {
      from: 0,
      to: SHARED_USERS,
      concurrency: CONCURRENCY,
      prefix: 's',
    });

    const latency = summarize(all.latencies);
    const lines = [
      `# idle users: ${USERS} connected users, one handler, memory storage (node ${process.version})`,
      '',
      `load average at the end: ${loadavg()
        .map((value) => value.toFixed(2))
        .join(' / ')} (1 / 5 / 15 min; other work on the machine slows every figure)`,
      '',
      '| measure | value |',
      '|---|---|',
      `| heap before any user (after GC) | ${mb(before.heapUsed)} |`,
      `| heap per idle connected user (after GC, ${USERS - WARM_UP} users after a ${WARM_UP}-user warm-up) | ${kb(heapPerUser)} |`,
      `| RSS before any user | ${mb(before.rss)} |`,
      `| RSS with ${USERS} idle users, right after connecting them (one GC) | ${mb(idle.rss)} (heap total ${mb(idle.heapTotal)}, used ${mb(idle.heapUsed)}) |`,
      `| the same, left alone ${LEFT_ALONE_MS / 1000} s (no forced GC) | ${mb(leftAlone.rss)} (heap total ${mb(leftAlone.heapTotal)}) |`,
      `| the same, after 20 GCs (heap compacted) | ${mb(settled.rss)} (heap total ${mb(settled.heapTotal)}, used ${mb(settled.heapUsed)}) |`,
      `| open TCP sockets in the handler's process, idle | ${idle.sockets} (pooled keep-alive, not per user) |`,
      `| MCP sessions held on the server, idle | ${idleSessions} |`,
      `| connects per second (${CONCURRENCY} at a time; list tools, store, close; each user's own credentials) | ${fmt(connectsPerSecond, 0)}/s (${connected.failed} failed) |`,
      `| all ${USERS} chat at once (every ${TOOL_EVERY}th a tool turn) | ${all.ok} ok, ${all.failed} failed${all.failures.length ? ` (${all.failures.join(', ')})` : ''}, ${all.usedTool} used a tool, ${fmt(all.elapsedMs / 1000, 1)} s |`,
      `| turn latency under that load | median ${fmt(latency.median, 0)} ms, p99 ${fmt(latency.p99, 0)} ms |`,
      `| peak RSS while all chat | ${mb(all.peakRss)} |`,
      `| after the burst: heap, RSS, sockets, MCP sessions | ${mb(afterChat.heapUsed)}, ${mb(afterChat.rss)}, ${afterChat.sockets}, ${sessionsAfterChat} |`,
      `| tool turn, cold MCP connection (n=${coldSummary.n}) | median ${fmt(coldSummary.median)} ms, p99 ${fmt(coldSummary.p99)} ms |`,
      `| tool turn, warm MCP connection (n=${warmSummary.n}) | median ${fmt(warmSummary.median)} ms, p99 ${fmt(warmSummary.p99)} ms |`,
      `| first tool call's extra latency when cold (paired, median) | ${fmt(paired.median)} ms |`,
      `| ${IDLE_MS * 2 + 1000} ms later: sockets, MCP sessions, heap, RSS | ${end.sockets}, ${sessionsEnd}, ${mb(end.heapUsed)}, ${mb(end.rss)} |`,
      `| (info) connects per second when the users' server is configured alike (${SHARED_USERS} users, ${CONCURRENCY} at a time: a connect joins the listing running when it arrives) | ${fmt((SHARED_USERS / shared.elapsedMs) * 1000, 0)}/s (${shared.failed} failed) |`,
      '',
      '| target | measured | result |',
      '|---|---|---|',
      `| ≤ 20 KB heap per idle user | ${kb(heapPerUser)} | ${heapPerUser <= TARGET_HEAP_PER_USER ? 'PASS' : 'MISS'} |`,
      `| no MCP session held while idle | ${idleSessions} | ${idleSessions === 0 ? 'PASS' : 'MISS'} |`,
      `| ${USERS} idle users under 300 MB RSS (left alone, no forced GC) | ${mb(leftAlone.rss)} | ${leftAlone.rss < TARGET_RSS ? 'PASS' : 'MISS'} |`,
      `| (info) the same right after connecting them | ${mb(idle.rss)} | ${idle.rss < TARGET_RSS ? 'under 300 MB' : 'over 300 MB'} |`,
      `| all ${USERS} can chat at once | ${all.ok}/${USERS} | ${all.ok === USERS ? 'PASS' : 'MISS'} |`,
      `| (info) peak RSS while all ${USERS} chat | ${mb(all.peakRss)} | ${all.peakRss < TARGET_RSS ? 'under 300 MB' : 'over 300 MB'} |`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await subject?.close();
    await upstream.close();
  }
}

await main();
