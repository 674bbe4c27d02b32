import { createHash } from 'node:crypto';

export { runScript } from './redis-scripts.js';

function defineScript(source: string) {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/**
 * Adds to counters of several hashes and sets their TTLs, atomically.
 * KEYS: the hashes (one hash tag). ARGV per key: ttlMs, field count n, then n field/amount pairs.
 * @internal
 */
export const ADD_COUNTERS = defineScript(`
local at = 1
for i = 1, #KEYS do
  local ttl = ARGV[at]
  local count = tonumber(ARGV[at + 1])
  at = at + 2
  for j = 1, count do
    redis.call('HINCRBY', KEYS[i], ARGV[at], ARGV[at + 1])
    at = at + 2
  end
  redis.call('PEXPIRE', KEYS[i], ttl)
end
return 1
`);

/** HGETALL of every key, in one round trip. KEYS: the hashes (one hash tag). @internal */
export const READ_COUNTERS = defineScript(`
local out = {}
for i = 1, #KEYS do
  if redis.call('TYPE', KEYS[i]).ok == 'hash' then
    out[i] = redis.call('HGETALL', KEYS[i])
  else
    out[i] = {}
  end
end
return out
`);
