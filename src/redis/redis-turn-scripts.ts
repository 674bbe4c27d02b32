import { createHash } from 'node:crypto';
import type { RedisScript } from './redis-scripts.js';

function defineScript(source: string): RedisScript {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/**
 * Appends entries to a turn's Stream with ids `0-<seq>`, trims it (`MAXLEN ~`) and sets its TTL,
 * and optionally sets one record, in one round trip. KEYS[1]: the stream; KEYS[2]: the record,
 * if any. ARGV: ttlMs, maxEvents, record value, record ttlMs, then seq/payload pairs.
 * @internal
 */
export const APPEND_TURN_EVENTS = defineScript(`
for i = 5, #ARGV, 2 do
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '0-' .. ARGV[i], 'p', ARGV[i + 1])
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
if KEYS[2] then
  redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
end
return 1
`);

/**
 * Sets KEYS[1] to ARGV[1] with a TTL of ARGV[2] ms unless it exists; returns the existing value,
 * or false when it was set. (`SET NX GET` needs Redis 7; this works on any version.)
 * @internal
 */
export const SET_IF_ABSENT = defineScript(`
local existing = redis.call('GET', KEYS[1])
if existing then return existing end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false
`);
