import { createHash } from 'node:crypto';
import type { RedisClientLike } from './redis-client.js';

/** A Lua script with its SHA-1, for EVALSHA. @internal */
export interface RedisScript {
  source: string;
  sha: string;
}

/** Pairs a Lua script with its SHA-1. @internal */
export function defineScript(source: string): RedisScript {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/**
 * Appends to a list, trims it, sets its TTL and refreshes the TTL of other keys, atomically;
 * optionally only while a guard key's value contains a text.
 * KEYS[1]: the list; KEYS[2..1+t]: keys to refresh; KEYS[2+t]: the guard key, if any (all with
 * the list's hash tag). ARGV: list ttlMs, maxLength (0 = unbounded), t, guard flag (0/1), guard
 * text, value count n, n values, one ttlMs per refreshed key. Returns 1, or 0 when the guard
 * failed and nothing was written.
 * @internal
 */
export const APPEND_TO_LIST = defineScript(`
local touched = tonumber(ARGV[3])
if ARGV[4] == '1' then
  -- A guard of another type (junk) holds nothing: refused, as an absent one is.
  local guard = redis.pcall('GET', KEYS[2 + touched])
  if type(guard) ~= 'string' or not string.find(guard, ARGV[5], 1, true) then
    return 0
  end
end
-- Junk of another type where the list goes is replaced, as the memory backend replaces it.
local kind = redis.call('TYPE', KEYS[1])
if type(kind) == 'table' then kind = kind.ok end
if kind ~= 'list' and kind ~= 'none' then redis.call('DEL', KEYS[1]) end
local count = tonumber(ARGV[6])
for i = 1, count do
  redis.call('RPUSH', KEYS[1], ARGV[6 + i])
end
local maxLength = tonumber(ARGV[2])
if maxLength > 0 then
  redis.call('LTRIM', KEYS[1], -maxLength, -1)
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
for i = 1, touched do
  redis.call('PEXPIRE', KEYS[1 + i], ARGV[6 + count + i])
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
 * Takes lock KEYS[1] for token ARGV[1] with a TTL of ARGV[2] ms when the key there has no expiry
 * (PTTL -1): every lock this library writes has one, so such a key is junk someone else left,
 * and it would otherwise read as a holder for ever. Returns 1 when taken, 0 otherwise. A key
 * freed since the caller's `SET NX` is not taken here: what the caller read right after that
 * `SET` (a turn's history) may predate the last holder's writes, so it tries again the usual way.
 * @internal
 */
export const TAKE_UNEXPIRING_LOCK = defineScript(`
if redis.call('PTTL', KEYS[1]) ~= -1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
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

/**
 * Returns KEYS[1]'s value and deletes it (GETDEL for servers older than 6.2); a key of another
 * type reads as none and is left alone. @internal
 */
export const TAKE_VALUE = defineScript(`
local value = redis.pcall('GET', KEYS[1])
if type(value) ~= 'string' then return false end
redis.call('DEL', KEYS[1])
return value
`);

/**
 * Deletes KEYS[1] when its value is exactly ARGV[1], then (when ARGV[2] is '1') sets KEYS[2] to
 * ARGV[3] with a TTL of ARGV[4] ms, and returns 1; otherwise (another value, none, a key of
 * another type) leaves everything alone and returns 0. @internal
 */
export const TAKE_IF_EQUAL = defineScript(`
local value = redis.pcall('GET', KEYS[1])
if value ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
if ARGV[2] == '1' then redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4]) end
return 1
`);

/**
 * Returns `{ KEYS[1]'s value or nil, the whole list at KEYS[2] }`: a session and its history in
 * one command. A key of another type reads as absent (junk, as the memory backend reads it).
 * @internal
 */
export const GET_WITH_LIST = defineScript(`
local value = redis.pcall('GET', KEYS[1])
local list = redis.pcall('LRANGE', KEYS[2], 0, -1)
if type(value) ~= 'string' then value = false end
if type(list) ~= 'table' or list.err then list = {} end
return { value, list }
`);
