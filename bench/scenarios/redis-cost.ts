/**
 * Scenario 5: Redis commands per turn. The server counts every command its ioredis client sends
 * (by name, exact, this bench's client only); `INFO commandstats` before and after is shown too,
 * but it counts every client of the Redis server, so other users of it inflate that column.
 */
import { Redis } from 'ioredis';
import { type BenchEnv, connectUser } from '../lib/bench-env.js';
import { fmt } from '../lib/stats.js';
import { FORMATS, postStream, userHeaders } from '../lib/stream-client.js';
import type { ScenarioResult } from './first-token.js';

/** Sizes of the scenario. */
export interface RedisCostOptions {
  turns: number;
}

const USER = 'bench-redis-cost';

/** `INFO commandstats` as command → calls. */
async function commandStats(redis: Redis): Promise<Map<string, number>> {
  const text = await redis.info('commandstats');
  const stats = new Map<string, number>();
  for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) stats.set(match[1] as string, Number(match[2]));
  return stats;
}

export async function redisCostScenario(env: BenchEnv, options: RedisCostOptions): Promise<ScenarioResult> {
  const port = env.ports.libRedis;
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: true });
  await redis.connect();
  try {
    await connectUser(port, USER);
    const measure = async (message: string, expect: string) => {
      // One unmeasured turn, so the first-turn history shape is not in the average.
      await postStream(env.url(port, '/llmchat/chat'), { message, streaming: true }, FORMATS.lib, {
        headers: userHeaders(USER),
      });
      await env.server.call('redisResetCounts');
      const statsBefore = await commandStats(redis);
      for (let i = 0; i < options.turns; i++) {
        const timing = await postStream(env.url(port, '/llmchat/chat'), { message, streaming: true }, FORMATS.lib, {
          headers: userHeaders(USER),
          keepBody: true,
        });
        if (!timing.complete || !timing.body?.includes(expect)) throw new Error('Redis turn did not finish');
      }
      const statsAfter = await commandStats(redis);
      const counts = await env.server.call<Record<string, number>>('redisCounts');
      const infoDelta = new Map<string, number>();
      for (const [name, calls] of statsAfter) {
        const delta = calls - (statsBefore.get(name) ?? 0);
        if (delta > 0 && name !== 'info') infoDelta.set(name, delta);
      }
      return { counts, infoDelta };
    };
    const plain = await measure('hello', 'Hello from the fake.');
    const tool = await measure('add 2 and 3', 'is 5.');
    const keys = await env.server.call<number>('redisKeyCount');

    const perTurn = (counts: Record<string, number>) =>
      Object.values(counts).reduce((sum, value) => sum + value, 0) / options.turns;
    const names = [...new Set([...Object.keys(plain.counts), ...Object.keys(tool.counts)])].sort();
    const rows = names.map((name) => [
      name,
      fmt((plain.counts[name] ?? 0) / options.turns),
      fmt((plain.infoDelta.get(name) ?? 0) / options.turns),
      fmt((tool.counts[name] ?? 0) / options.turns),
    ]);
    const plainTotal = perTurn(plain.counts);
    const infoTotal = [...plain.infoDelta.values()].reduce((sum, value) => sum + value, 0) / options.turns;
    rows.push(['total', fmt(plainTotal), fmt(infoTotal), fmt(perTurn(tool.counts))]);
    return {
      tables: [
        {
          title: `5. Redis commands per turn (${options.turns} streamed turns each, one user, bench-only key prefix)`,
          headers: [
            'Command',
            'plain turn (client count)',
            'plain turn (INFO commandstats Δ)',
            'tool turn (client count)',
          ],
          rows,
          notes: [
            'EVALSHA runs the backends’ Lua scripts: the session and history read, the latest-turn record, each batch of events, the history append, the conversation entry, and the final event with the lock release; SET is the lock (NX).',
            `INFO commandstats is server-wide: other clients of this Redis add to it. Keys left under the prefix after the run: ${keys}.`,
          ],
        },
      ],
      targets: [
        {
          target: '≤ 8 Redis commands per plain turn (issue 11: event log included)',
          measured: fmt(plainTotal),
          pass: plainTotal <= 8,
        },
      ],
    };
  } finally {
    redis.disconnect();
  }
}
