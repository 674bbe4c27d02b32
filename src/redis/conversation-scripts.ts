import { defineScript } from './redis-scripts.js';

// KEYS[1]: the user's index (sorted set: conversation id -> updated ms).
// KEYS[2]: the user's entries (hash: conversation id -> JSON entry, see conversation-entry.ts).
// Both keys carry the user's hash tag, so each script touches one cluster slot.

/**
 * Records one more turn of conversation ARGV[1], in one call: drops expired entries (oldest
 * first; entries share one TTL, so updated order is expiry order), reads the conversation's
 * entry, writes the next one (see `nextEntry` in conversation-entry.ts, which this mirrors) and
 * keeps both keys alive as long as it. An entry that is corrupt or expired counts as absent:
 * junk in the storage starts the conversation's entry anew instead of failing the turn.
 * ARGV: conversation id, title (used when the entry is new), turn time ms, now ms, key TTL ms,
 * and a guard: when ARGV[6] is not '', nothing is written unless KEYS[3] (the user's session,
 * same hash tag) holds a value containing ARGV[6]. Returns 1 when recorded, 0 when guarded out.
 * @internal
 */
export const RECORD_CONVERSATION_TURN = defineScript(`
if ARGV[6] ~= '' then
  local guard = redis.call('GET', KEYS[3])
  if not guard or not string.find(guard, ARGV[6], 1, true) then return 0 end
end
local at = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
local ttl = tonumber(ARGV[5])
local stale = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - ttl))
for _, id in ipairs(stale) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
end
local expires = at + ttl
local entry = nil
local raw = redis.call('HGET', KEYS[2], ARGV[1])
if raw then
  local ok, p = pcall(cjson.decode, raw)
  if ok and type(p) == 'table' and type(p.t) == 'string' and type(p.c) == 'number'
    and type(p.u) == 'number' and type(p.n) == 'number' and p.n >= 0 and p.n == math.floor(p.n)
    and type(p.e) == 'number' and p.e > now then
    entry = { t = p.t, c = p.c, u = math.max(p.u, at), n = p.n + 1, e = math.max(p.e, expires) }
  end
end
if entry == nil then entry = { t = ARGV[2], c = at, u = at, n = 1, e = expires } end
redis.call('HSET', KEYS[2], ARGV[1], cjson.encode(entry))
redis.call('ZADD', KEYS[1], string.format('%d', entry.u), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
return 1
`);

/**
 * A page of ids and their entries, newest first: ids updated strictly before ARGV[1] (an
 * exclusive score such as '(1700000000000', or '+inf'), at most ARGV[2] of them.
 * Returns [id1, score1, json1, id2, score2, json2, ...]; a missing entry is ''.
 * @internal
 */
export const LIST_CONVERSATIONS = defineScript(`
local scored = redis.call('ZREVRANGEBYSCORE', KEYS[1], ARGV[1], '-inf', 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[2]))
if #scored == 0 then return {} end
local ids = {}
for i = 1, #scored, 2 do ids[#ids + 1] = scored[i] end
local values = redis.call('HMGET', KEYS[2], unpack(ids))
local out = {}
for i, id in ipairs(ids) do
  out[#out + 1] = id
  out[#out + 1] = scored[i * 2]
  out[#out + 1] = values[i] or ''
end
return out
`);

/** The entry JSON of ARGV[1], or nil. @internal */
export const GET_CONVERSATION = defineScript(`
return redis.call('HGET', KEYS[2], ARGV[1])
`);

/** Removes ARGV[1] from both keys. Returns 1 when it existed. @internal */
export const REMOVE_CONVERSATION = defineScript(`
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return removed
`);
