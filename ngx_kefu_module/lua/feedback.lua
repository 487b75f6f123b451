#!lua
-- POST /v1/feedback, in the tenant's slot.
--
-- KEYS[1]  this session's feedback     kefu:{t}:fb:<len>:<user>:<session>
--          (turn -> "verdict:YYYYMMDD")
-- KEYS[2]  day hash                    kefu:{t}:d:YYYYMMDD
-- KEYS[3]  day's unanswered set        kefu:{t}:d:YYYYMMDD:u
-- KEYS[4]  the earlier verdict's day   kefu:{t}:d:<its day>
--          hash
-- KEYS[5]  ... and unanswered set      kefu:{t}:d:<its day>:u
-- KEYS[6]  trainers' feedback stream   kefu:{t}:feedback
-- KEYS[7]  the hashes of the           kefu:{t}:uq:YYYYMMDD:<len>:<user>
--          unanswered questions this
--          user added today
--
-- ARGV[1] turn, ARGV[2] expected earlier value, ARGV[3] verdict (1
-- helpful, 0 not), ARGV[4] today, ARGV[5] normalised question,
-- ARGV[6] day TTL, ARGV[7] user, ARGV[8] session id, ARGV[9] FAQ id,
-- ARGV[10] reason, ARGV[11] now, ARGV[12] stream_max, ARGV[13] the
-- question's hash, ARGV[14] unanswered_per_user, ARGV[15] that set's
-- TTL, ARGV[16] stats_top_max.
--
-- Returns 'stale', 'same' or 'ok'.
--
-- The last verdict wins and each turn counts once: a changed verdict is
-- taken back from the day it was counted on.  Verdict "2" is an
-- unhelpful one whose question was not added to the unanswered set (the
-- user had added it today already, or had spent the day's quota):
-- nothing to take back.

-- shared: stream_trim (the same in handoff.lua and feedback.lua; the
-- build checks that the copies agree)
-- trim(key, cap) keeps a stream near cap entries without dropping one a
-- consumer group has not acknowledged.  Past cap (then every 64 entries
-- while nothing can go), every entry all groups have read and
-- acknowledged leaves: XTRIM MINID to the oldest entry some group still
-- needs (its oldest pending entry, else its last delivered one).  A
-- stream nobody reads through a group is cut to about cap (MAXLEN ~).
-- Returns the number of entries removed.
local function idlt(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  am, as, bm, bs = tonumber(am), tonumber(as), tonumber(bm), tonumber(bs)
  return am < bm or (am == bm and as < bs)
end
local function trim(key, cap)
  local len = redis.call('XLEN', key)
  if len <= cap or (len - cap) % 64 ~= 1 then return 0 end
  local keep = nil
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', key)) do
    local f = {}
    for j = 1, #g, 2 do f[g[j]] = g[j + 1] end
    local need = f['last-delivered-id']
    if tonumber(f['pending']) > 0 then
      need = redis.call('XPENDING', key, f['name'])[2]
    end
    if keep == nil or idlt(need, keep) then keep = need end
  end
  if keep == nil then
    return redis.call('XTRIM', key, 'MAXLEN', '~', cap)
  end
  return redis.call('XTRIM', key, 'MINID', keep)
end
-- end shared: stream_trim

local cur = redis.call('HGET', KEYS[1], ARGV[1]) or ''
if cur ~= ARGV[2] then return 'stale' end
if cur ~= '' then
  local old = string.sub(cur, 1, 1)
  local was = old == '1' and '1' or '0'
  if was == ARGV[3] then return 'same' end
  if redis.call('EXISTS', KEYS[4]) == 1 then
    redis.call('HINCRBY', KEYS[4],
      was == '1' and 'helpful' or 'unhelpful', -1)
  end
  if old == '0' and ARGV[5] ~= '' then
    local s = redis.call('ZINCRBY', KEYS[5], -1, ARGV[5])
    if tonumber(s) <= 0 then redis.call('ZREM', KEYS[5], ARGV[5]) end
  end
end
redis.call('HINCRBY', KEYS[2],
  ARGV[3] == '1' and 'helpful' or 'unhelpful', 1)
redis.call('EXPIRE', KEYS[2], ARGV[6])
local v = ARGV[3]
if v == '0' and ARGV[5] ~= '' then
  if redis.call('SISMEMBER', KEYS[7], ARGV[13]) == 1
     or redis.call('SCARD', KEYS[7]) >= tonumber(ARGV[14]) then
    v = '2'
  else
    redis.call('SADD', KEYS[7], ARGV[13])
    redis.call('EXPIRE', KEYS[7], ARGV[15])
    redis.call('ZINCRBY', KEYS[3], 1, ARGV[5])
    redis.call('EXPIRE', KEYS[3], ARGV[6])
    local cap = tonumber(ARGV[16])
    if redis.call('ZCARD', KEYS[3]) > cap then
      redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -cap - 1)
    end
  end
end
redis.call('HSET', KEYS[1], ARGV[1], v .. ':' .. ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[6])
redis.call('XADD', KEYS[6], '*',
  'user', ARGV[7], 'session_id', ARGV[8], 'turn', ARGV[1],
  'helpful', ARGV[3], 'faq_id', ARGV[9], 'question', ARGV[5],
  'reason', ARGV[10], 'ts', ARGV[11])
trim(KEYS[6], tonumber(ARGV[12]))
return 'ok'
