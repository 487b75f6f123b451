#!lua
-- POST /v1/feedback, in the slot of the user's bucket NN.
--
-- KEYS[1]  this session's feedback     kefu:{t#NN}:fb:<len>:<user>:<session>
--          (turn -> "verdict:YYYYMMDD")
-- KEYS[2]  the bucket's day hash       kefu:{t#NN}:d:YYYYMMDD
-- KEYS[3]  the earlier verdict's day   kefu:{t#NN}:d:<its day>
--          hash
-- KEYS[4]  trainers' feedback stream   kefu:{t#NN}:feedback
-- KEYS[5]  the hashes of the           kefu:{t#NN}:uq:YYYYMMDD:<len>:<user>
--          unanswered questions this
--          user added today
--
-- ARGV[1] turn, ARGV[2] expected earlier value, ARGV[3] verdict (1
-- helpful, 0 not), ARGV[4] today, ARGV[5] normalised question,
-- ARGV[6] day TTL, ARGV[7] user, ARGV[8] session id, ARGV[9] FAQ id,
-- ARGV[10] reason, ARGV[11] now, ARGV[12] stream_max, ARGV[13] the
-- question's hash, ARGV[14] unanswered_per_user, ARGV[15] that set's
-- TTL.
--
-- Returns {'stale'}, {'same'} or {'ok', added, taken back}: whether the
-- question joins today's unanswered list, and whether it leaves the
-- earlier verdict's day's.  Those lists are the tenant's
-- (kefu:{t}:d:YYYYMMDD:u, another slot): the caller adds the +1 / -1 to
-- its sums of /v1/ask's counters (tally.lua).
--
-- The last verdict wins and each turn counts once: a changed verdict is
-- taken back from the day it was counted on.  Verdict "2" is an
-- unhelpful one whose question was not added to the unanswered list
-- (the user had added it today already, or had spent the day's quota):
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
if cur ~= ARGV[2] then return {'stale'} end
local back = 0
if cur ~= '' then
  local old = string.sub(cur, 1, 1)
  local was = old == '1' and '1' or '0'
  if was == ARGV[3] then return {'same'} end
  if redis.call('EXISTS', KEYS[3]) == 1 then
    redis.call('HINCRBY', KEYS[3],
      was == '1' and 'helpful' or 'unhelpful', -1)
  end
  if old == '0' and ARGV[5] ~= '' then back = 1 end
end
redis.call('HINCRBY', KEYS[2],
  ARGV[3] == '1' and 'helpful' or 'unhelpful', 1)
redis.call('EXPIRE', KEYS[2], ARGV[6])
local v = ARGV[3]
local add = 0
if v == '0' and ARGV[5] ~= '' then
  if redis.call('SISMEMBER', KEYS[5], ARGV[13]) == 1
     or redis.call('SCARD', KEYS[5]) >= tonumber(ARGV[14]) then
    v = '2'
  else
    redis.call('SADD', KEYS[5], ARGV[13])
    redis.call('EXPIRE', KEYS[5], ARGV[15])
    add = 1
  end
end
redis.call('HSET', KEYS[1], ARGV[1], v .. ':' .. ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[6])
redis.call('XADD', KEYS[4], '*',
  'user', ARGV[7], 'session_id', ARGV[8], 'turn', ARGV[1],
  'helpful', ARGV[3], 'faq_id', ARGV[9], 'question', ARGV[5],
  'reason', ARGV[10], 'ts', ARGV[11])
trim(KEYS[4], tonumber(ARGV[12]))
return {'ok', add, back}
