import { createHash } from 'node:crypto';
import { START_SKEW_MS } from '../turns/latest-turn-record.js';
import type { RedisScript } from './redis-scripts.js';

function defineScript(source: string): RedisScript {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

// A string key's value, or false when it is absent or holds another type (junk written by someone
// else reads as absent, as the session backend reads it, and the next write replaces it: SET
// overwrites a key of any type). \`pcall\`, not a TYPE call first: the common case costs nothing.
const TEXT = `
local function text(key)
  local value = redis.pcall('GET', key)
  if type(value) == 'table' then return false end
  return value
end
`;

/**
 * Appends entries to a turn's Stream with ids `0-<seq>`, trims it (`MAXLEN ~`) and sets its TTL,
 * optionally sets one record and frees one lock, in one round trip; fenced appends first check
 * the turn's fence. KEYS[1]: the stream; KEYS[2]: the fence (read only when ARGV[5] > 0);
 * KEYS[3]: the record (written when ARGV[6] is '1', or when it is '2' and the record there is
 * absent, not JSON, or names the same `turnId`); KEYS[4]: a lock, deleted when it holds the token
 * ARGV[7] (untouched when ARGV[7] is ''). ARGV: ttlMs, maxEvents, record value, record ttlMs,
 * epoch (0: unfenced), record mode ('0' none), lock token, then seq/payload pairs. Returns 0 when
 * fenced out, -1 when the first seq is not past the stream's last (nothing written), else 1.
 * @internal
 */
export const APPEND_TURN_EVENTS = defineScript(`${TEXT}
local epoch = tonumber(ARGV[5])
if epoch > 0 then
  -- An absent fence is epoch 1 (the turn's first owner); an unreadable one matches nothing.
  if tonumber(text(KEYS[2]) or '1') ~= epoch then return 0 end
end
local function add(i)
  return redis.pcall('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '0-' .. ARGV[i], 'p', ARGV[i + 1])
end
for i = 8, #ARGV, 2 do
  -- An id at or below the stream's last is refused; the caller sends its batch in order, so only
  -- the first entry can be, and then nothing has been written.
  local added = add(i)
  if i == 8 and type(added) == 'table' and added.err and string.find(added.err, 'WRONGTYPE', 1, true) then
    -- Junk of another type where the turn's log goes: it is replaced, not an error for ever.
    redis.call('DEL', KEYS[1])
    added = add(i)
  end
  if type(added) == 'table' and added.err then
    if string.find(added.err, 'smaller', 1, true) or string.find(added.err, 'greater than', 1, true) then return -1 end
    return redis.error_reply(added.err)
  end
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
if epoch > 0 then redis.call('PEXPIRE', KEYS[2], ARGV[1]) end
local write = ARGV[6] == '1'
if ARGV[6] == '2' then
  -- Only over a record that is absent, not JSON, or names the same turn.
  local existing = text(KEYS[3])
  write = true
  if existing then
    local ok, there = pcall(cjson.decode, existing)
    if ok and type(there) == 'table' and there.turnId ~= nil then
      local _, mine = pcall(cjson.decode, ARGV[3])
      write = type(mine) == 'table' and there.turnId == mine.turnId
    end
  end
end
if write then
  redis.call('SET', KEYS[3], ARGV[3], 'PX', ARGV[4])
end
if ARGV[7] ~= '' and text(KEYS[4]) == ARGV[7] then
  redis.call('DEL', KEYS[4])
end
return 1
`);

/**
 * Raises a turn's fence by one (absent or unreadable counts as 1) with a TTL of ARGV[1] ms, and
 * returns the new epoch. KEYS[1]: the fence.
 * @internal
 */
export const RAISE_TURN_FENCE = defineScript(`${TEXT}
local epoch = (tonumber(text(KEYS[1]) or '1') or 1) + 1
redis.call('SET', KEYS[1], epoch, 'PX', ARGV[1])
return epoch
`);

/**
 * Sets KEYS[1] to ARGV[1] with a TTL of ARGV[2] ms unless it exists; returns the existing value,
 * or false when it was set. (`SET NX GET` needs Redis 7; this works on any version.)
 * @internal
 */
export const SET_IF_ABSENT = defineScript(`${TEXT}
local existing = text(KEYS[1])
if existing then return existing end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false
`);

/**
 * Sets the latest-turn record KEYS[1] to ARGV[1] with a TTL of ARGV[2] ms unless the record
 * there names a running turn, as `namesRunningTurn` reads one: JSON with a turn id and an owner,
 * without `ended: true`, whose `startedAt` is at or after ARGV[3] and not more than
 * START_SKEW_MS after Redis's clock. With a lock KEYS[2], nothing happens unless it holds the
 * token ARGV[4] (returns {-1}). A running turn's record is left alone ({0}); otherwise the call
 * returns {1, previous value or false, its PTTL}. Junk in the key is replaced, never an error.
 * @internal
 */
export const REPLACE_UNLESS_RUNNING = defineScript(`${TEXT}
if #KEYS > 1 and text(KEYS[2]) ~= ARGV[4] then return {-1} end
local existing = text(KEYS[1])
local ttl = -2
if existing then
  local ok, record = pcall(cjson.decode, existing)
  if ok and type(record) == 'table' and record.ended ~= true and type(record.startedAt) == 'number'
    and type(record.turnId) == 'string' and #record.turnId >= 8 and #record.turnId <= 64
    and string.find(record.turnId, '^[%w_-]+$') and type(record.owner) == 'string'
    and record.startedAt >= tonumber(ARGV[3]) then
    local clock = redis.call('TIME')
    local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
    if record.startedAt <= now + ${START_SKEW_MS} then return {0} end
  end
  ttl = redis.call('PTTL', KEYS[1])
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {1, existing or false, ttl}
`);

/**
 * Puts a record back while it still holds ARGV[1]: ARGV[2] with a TTL of ARGV[3] ms ('' for no
 * expiry), or deletes it when ARGV[4] is '0' (there was none). KEYS[1]: the record. Returns 1
 * when it changed the record.
 * @internal
 */
export const RESTORE_RECORD = defineScript(`${TEXT}
if text(KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[4] == '0' then
  redis.call('DEL', KEYS[1])
elseif ARGV[3] == '' then
  redis.call('SET', KEYS[1], ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
return 1
`);
