import { MAX_COUNTER } from '../usage/usage-counts.js';
import { defineScript } from './redis-scripts.js';

export { runScript } from './redis-scripts.js';

/**
 * Adds to counters of several hashes and sets their TTLs, atomically: all of it or, on
 * malformed arguments, none of it.
 * KEYS: the hashes (one hash tag). ARGV per key: ttlMs, field count n, then n field/amount pairs;
 * ttlMs, n and the amounts are plain whole numbers of at most `MAX_COUNTER`.
 *
 * A Lua error does not undo the writes made before it, so the script first checks every argument
 * and then makes only writes that cannot fail. Junk found in the store is repaired, not refused:
 * refusing would fail every later write of the user (each write touches all its counters) until
 * the junk expired, losing all that usage and hiding it from the budgets. So a key of another type
 * (which reads as empty) is replaced by a hash, and a field that is not a plain whole number in
 * `0..MAX_COUNTER` is taken as the figure a read shows for it (`toStoredCounter`: cut to a whole
 * number in that range, 0 for no number) and added to. Counters saturate at `MAX_COUNTER`, where
 * HINCRBY would fail at 2^63 and block the counter for good. Replies 1.
 * @internal
 */
export const ADD_COUNTERS = defineScript(`
local MAX = ${MAX_COUNTER}
local function whole(raw)
  if type(raw) ~= 'string' or not string.match(raw, '^%d+$') then return nil end
  local n = tonumber(raw)
  if n > MAX then return nil end
  return n
end
-- The figure a read shows for a stored field; see toStoredCounter in usage-counts.ts.
local function stored(raw)
  if not raw then return 0 end
  local n = tonumber(raw)
  if string.match(raw, '^%d+$') then return math.min(n, MAX) end
  if n == nil or n ~= n or n == math.huge or n <= 0 then return 0 end
  return math.min(math.floor(n), MAX)
end
local plan = {}
local at = 1
for i = 1, #KEYS do
  -- The TTL is passed on as its text: Lua would print a number of 15+ digits as 1.2e+15.
  local ttl = ARGV[at]
  local count = whole(ARGV[at + 1])
  if not whole(ttl) or whole(ttl) < 1 or not count then
    return redis.error_reply('ERR usage counters: malformed arguments')
  end
  local fields = {}
  at = at + 2
  for j = 1, count do
    local amount = whole(ARGV[at + 1])
    if type(ARGV[at]) ~= 'string' or not amount then
      return redis.error_reply('ERR usage counters: malformed arguments')
    end
    fields[j] = { ARGV[at], amount }
    at = at + 2
  end
  plan[i] = { ttl, fields }
end
if at ~= #ARGV + 1 then return redis.error_reply('ERR usage counters: malformed arguments') end
for i = 1, #KEYS do
  local key = KEYS[i]
  local kind = redis.call('TYPE', key)
  if type(kind) == 'table' then kind = kind.ok end
  if kind ~= 'hash' and kind ~= 'none' then redis.call('DEL', key) end
  for _, field in ipairs(plan[i][2]) do
    local total = math.min(stored(redis.call('HGET', key, field[1])) + field[2], MAX)
    redis.call('HSET', key, field[1], string.format('%.0f', total))
  end
  redis.call('PEXPIRE', key, plan[i][1])
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
