import { MAX_DATE_MS } from '../conversations/query-time.js';
import { defineScript } from './redis-scripts.js';

// KEYS[1]: the user's index (sorted set: conversation id -> updated ms).
// KEYS[2]: the user's entries (hash: conversation id -> JSON entry, see conversation-entry.ts).
// Both keys carry the user's hash tag, so each script touches one cluster slot.
//
// A key of another type (junk written by someone else) reads as absent, as the session backend
// reads it, and a turn's record replaces it; it never fails a read or a turn with WRONGTYPE.

/** Lua helpers shared by the scripts: a key's type, and a stored entry checked field by field. */
const HELPERS = `
local function kind(key)
  local t = redis.call('TYPE', key)
  if type(t) == 'table' then t = t.ok end
  return t
end
local function decode(raw, now)
  if type(raw) ~= 'string' then return nil end
  local ok, p = pcall(cjson.decode, raw)
  if ok and type(p) == 'table' and type(p.t) == 'string' and type(p.c) == 'number'
    and type(p.u) == 'number' and math.abs(p.c) <= ${MAX_DATE_MS} and math.abs(p.u) <= ${MAX_DATE_MS}
    and type(p.n) == 'number' and p.n >= 0 and p.n == math.floor(p.n)
    and type(p.e) == 'number' and p.e > now then
    return p
  end
  return nil
end
`;

/**
 * Records one more turn of conversation ARGV[1], in one call: drops expired entries (oldest
 * first; entries share one TTL, so updated order is expiry order), reads the conversation's
 * entry, writes the next one (see `nextEntry` in conversation-entry.ts, which this mirrors) and
 * keeps both keys alive as long as it. An entry that is corrupt or expired counts as absent:
 * junk in the storage starts the conversation's entry anew instead of failing the turn. Junk in
 * place of the entries hash is dropped with the index (an order of entries that are gone); junk
 * in place of the index is rebuilt from the entries, so no live conversation is lost.
 * ARGV: conversation id, title (used when the entry is new), turn time ms, now ms, key TTL ms,
 * and a guard: when ARGV[6] is not '', nothing is written unless KEYS[3] (the user's session,
 * same hash tag) holds a value containing ARGV[6]. Returns 1 when recorded, 0 when guarded out.
 * @internal
 */
export const RECORD_CONVERSATION_TURN = defineScript(`${HELPERS}
if ARGV[6] ~= '' then
  local guard = redis.pcall('GET', KEYS[3])
  if type(guard) ~= 'string' or not string.find(guard, ARGV[6], 1, true) then return 0 end
end
local at = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
local ttl = tonumber(ARGV[5])
local entriesKind = kind(KEYS[2])
if entriesKind ~= 'hash' and entriesKind ~= 'none' then
  redis.call('DEL', KEYS[2], KEYS[1])
end
local indexKind = kind(KEYS[1])
if indexKind ~= 'zset' and indexKind ~= 'none' then
  redis.call('DEL', KEYS[1])
  local all = redis.call('HGETALL', KEYS[2])
  for i = 1, #all, 2 do
    local p = decode(all[i + 1], now)
    if p then redis.call('ZADD', KEYS[1], string.format('%d', p.u), all[i]) end
  end
end
local stale = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - ttl))
for _, id in ipairs(stale) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
end
local expires = at + ttl
local entry = nil
local p = decode(redis.call('HGET', KEYS[2], ARGV[1]), now)
if p then
  entry = { t = p.t, c = p.c, u = math.max(p.u, at), n = p.n + 1, e = math.max(p.e, expires) }
else
  entry = { t = ARGV[2], c = at, u = at, n = 1, e = expires }
end
redis.call('HSET', KEYS[2], ARGV[1], cjson.encode(entry))
redis.call('ZADD', KEYS[1], string.format('%d', entry.u), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
return 1
`);

/**
 * A page of ids and their entries in the list's order (score descending, then id descending):
 * the ids after the cursor, at most ARGV[3] of them. The cursor is a score ARGV[1] ('+inf' for
 * the first page) and an id ARGV[2]: ids scored below ARGV[1], and, when ARGV[2] is not '',
 * first the ids scored exactly ARGV[1] that sort before ARGV[2] (Lua compares bytes, as the
 * sorted set orders equal scores).
 * Returns [id1, score1, json1, id2, score2, json2, ...]; a missing entry is ''.
 * @internal
 */
export const LIST_CONVERSATIONS = defineScript(`${HELPERS}
if kind(KEYS[1]) ~= 'zset' then return {} end
local count = tonumber(ARGV[3])
local ids, scores = {}, {}
if ARGV[2] ~= '' then
  local tied = redis.call('ZREVRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[1])
  for _, id in ipairs(tied) do
    if #ids >= count then break end
    if id < ARGV[2] then
      ids[#ids + 1] = id
      scores[#scores + 1] = ARGV[1]
    end
  end
end
if #ids < count then
  local max = ARGV[1] == '+inf' and '+inf' or '(' .. ARGV[1]
  local scored = redis.call('ZREVRANGEBYSCORE', KEYS[1], max, '-inf', 'WITHSCORES', 'LIMIT', 0, count - #ids)
  for i = 1, #scored, 2 do
    ids[#ids + 1] = scored[i]
    scores[#scores + 1] = scored[i + 1]
  end
end
if #ids == 0 then return {} end
local values = redis.pcall('HMGET', KEYS[2], unpack(ids))
if type(values) ~= 'table' or values.err then values = {} end
local out = {}
for i, id in ipairs(ids) do
  out[#out + 1] = id
  out[#out + 1] = scores[i]
  out[#out + 1] = values[i] or ''
end
return out
`);

/** The entry JSON of ARGV[1], or nil. @internal */
export const GET_CONVERSATION = defineScript(`
local value = redis.pcall('HGET', KEYS[2], ARGV[1])
if type(value) ~= 'string' then return false end
return value
`);

/**
 * Removes ARGV[1] from both keys, and deletes KEYS[3..] (the conversation's history) in the same
 * step. Junk in place of a key is left for the next record to replace. Returns 1 when the
 * conversation was listed.
 * @internal
 */
export const REMOVE_CONVERSATION = defineScript(`${HELPERS}
local removed = 0
if kind(KEYS[1]) == 'zset' then removed = redis.call('ZREM', KEYS[1], ARGV[1]) end
if kind(KEYS[2]) == 'hash' then redis.call('HDEL', KEYS[2], ARGV[1]) end
for i = 3, #KEYS do redis.call('DEL', KEYS[i]) end
return removed
`);

/**
 * Whether ARGV[1] may take a turn under a cap of ARGV[2] conversations: 1 when it is listed and
 * live, or when fewer than ARGV[2] other ids are live (ARGV[5], the default conversation, not
 * counted). ARGV: id, cap, now ms, TTL ms, uncounted id ('' for none). Junk in either key lists
 * nothing, so it counts nothing. When the index's count says full, the entries are counted
 * instead, a page at a time until the cap: index members whose entry is missing or junk (which
 * the list never shows) are dropped as they are met, so they neither fill the cap nor cost the
 * next count.
 * @internal
 */
export const ADMIT_CONVERSATION = defineScript(`${HELPERS}
if kind(KEYS[1]) ~= 'zset' or kind(KEYS[2]) ~= 'hash' then return 1 end
local oldest = tonumber(ARGV[3]) - tonumber(ARGV[4])
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) > oldest then return 1 end
local live = redis.call('ZCOUNT', KEYS[1], '(' .. oldest, '+inf')
if ARGV[5] ~= '' then
  local uncounted = redis.call('ZSCORE', KEYS[1], ARGV[5])
  if uncounted and tonumber(uncounted) > oldest then live = live - 1 end
end
if live < tonumber(ARGV[2]) then return 1 end
local now = tonumber(ARGV[3])
local counted = 0
local offset = 0
while true do
  local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. oldest, '+inf', 'LIMIT', offset, 200)
  if #ids == 0 then return 1 end
  local raws = redis.call('HMGET', KEYS[2], unpack(ids))
  local kept = 0
  for i, id in ipairs(ids) do
    if decode(raws[i], now) then
      kept = kept + 1
      if id ~= ARGV[5] then counted = counted + 1 end
    else
      redis.call('ZREM', KEYS[1], id)
    end
  end
  if counted >= tonumber(ARGV[2]) then return 0 end
  offset = offset + kept
end
`);
