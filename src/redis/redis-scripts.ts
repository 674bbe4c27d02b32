import { createHash } from 'node:crypto';
import type { RedisClientLike } from './redis-client.js';

/** A Lua script with its SHA-1, for EVALSHA. @internal */
export interface RedisScript {
  source: string;
  sha: string;
}

function defineScript(source: string): RedisScript {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/**
 * Appends to a list, trims it, sets its TTL and refreshes the TTL of other keys, atomically.
 * KEYS[1]: the list; KEYS[2..]: keys to refresh (same hash tag as the list).
 * ARGV: list ttlMs, maxLength (0 = unbounded), value count n, n values, one ttlMs per refreshed key.
 * @internal
 */
export const APPEND_TO_LIST = defineScript(`
local count = tonumber(ARGV[3])
for i = 1, count do
  redis.call('RPUSH', KEYS[1], ARGV[3 + i])
end
local maxLength = tonumber(ARGV[2])
if maxLength > 0 then
  redis.call('LTRIM', KEYS[1], -maxLength, -1)
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
for i = 2, #KEYS do
  redis.call('PEXPIRE', KEYS[i], ARGV[3 + count + i - 1])
end
return 1
`);

/** Deletes KEYS[1] only while it holds token ARGV[1]. Returns 1 when deleted. @internal */
export const RELEASE_LOCK = defineScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`);

/** Sets KEYS[1]'s TTL to ARGV[2] ms only while it holds token ARGV[1]. Returns 1 when renewed. @internal */
export const EXTEND_LOCK = defineScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`);

/**
 * PUBLISH ARGV[1] on channel KEYS[1]. Through a script so Redis Cluster routes it by the
 * channel's slot: a plain PUBLISH (no key) goes to a random node each time, and two messages on
 * one channel could then arrive out of order. The key is only declared, never read or written.
 * @internal
 */
export const PUBLISH = defineScript(`
return redis.call('PUBLISH', KEYS[1], ARGV[1])
`);

/**
 * Runs a script by EVALSHA, falling back to EVAL when the server does not have it cached yet
 * (NOSCRIPT). Nothing is registered on the host's client (no `defineCommand`).
 * @internal
 */
export async function runScript(
  client: RedisClientLike,
  script: RedisScript,
  keys: readonly string[],
  args: ReadonlyArray<string | number>,
): Promise<unknown> {
  try {
    return await client.evalsha(script.sha, keys.length, ...keys, ...args);
  } catch (error) {
    if (!isNoScript(error)) throw error;
    return client.eval(script.source, keys.length, ...keys, ...args);
  }
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.includes('NOSCRIPT');
}
