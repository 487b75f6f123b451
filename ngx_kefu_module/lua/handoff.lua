#!lua
-- POST /v1/handoff, in the slot of the user's bucket NN.
--
-- KEYS[1]  open-ticket marker of this user's session
--          kefu:{t#NN}:agents:open:<len>:<user>:<session>
-- KEYS[2]  the bucket's queue          kefu:{t#NN}:agents:q
-- KEYS[3]  the bucket's sequence       kefu:{t#NN}:agents:seq
-- KEYS[4]  the new ticket              kefu:{t#NN}:tk:<ticket_id>
-- KEYS[5]  the bucket's agents stream  kefu:{t#NN}:agents
-- KEYS[6]  the bucket's day hash       kefu:{t#NN}:d:YYYYMMDD
-- KEYS[7]  the earlier ticket          kefu:{t#NN}:tk:<earlier id>
-- KEYS[8]  this user's waiting tickets kefu:{t#NN}:agents:u:<len>:<user>
--
-- ARGV[1] new ticket id, ARGV[2] priority level, ARGV[3] user,
-- ARGV[4] session id, ARGV[5] reason, ARGV[6] turns, ARGV[7] now,
-- ARGV[8] priority name, ARGV[9] day TTL, ARGV[10] ticket TTL,
-- ARGV[11] expected marker, ARGV[12] earlier ticket id,
-- ARGV[13] stream_max, ARGV[14] handoff_per_user, ARGV[15] arrival
-- (ngx_http_kefu_arrival: ms since 2026 x 1024 + bucket x 64).
--
-- Returns {'stale'}, {'limit'}, or {'existing' | 'created', ticket id,
-- queue score, level}; the caller counts the place over all buckets.
--
-- A session has one waiting ticket: asking again returns it, moved up
-- when the priority rose.  A user has at most handoff_per_user tickets
-- in the queue ('limit').  Score: level * 2^50 + arrival + the bucket's
-- sequence mod 64, so every bucket's queue is by priority, then first
-- come first served, in one order, and no two tickets share a score.

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

local open = redis.call('GET', KEYS[1]) or ''
if open ~= ARGV[11] then return {'stale'} end
local lv = tonumber(ARGV[2])
if ARGV[12] ~= '' and redis.call('ZSCORE', KEYS[2], ARGV[12]) then
  local old = tonumber(redis.call('HGET', KEYS[7], 'level') or '3')
  local arr = tonumber(redis.call('HGET', KEYS[7], 'arrival') or '0')
  if lv < old then
    redis.call('ZADD', KEYS[2], 'XX', lv * 1125899906842624 + arr,
      ARGV[12])
    redis.call('HSET', KEYS[7], 'priority', ARGV[8], 'level', lv)
  else
    lv = old
  end
  return {'existing', ARGV[12],
    tonumber(redis.call('ZSCORE', KEYS[2], ARGV[12])), lv}
end
-- the user's tickets that left the queue are let go only at the limit,
-- so that a handoff costs the same however many tickets wait (the set
-- never holds more than handoff_per_user)
if redis.call('ZCARD', KEYS[8]) >= tonumber(ARGV[14]) then
  for _, id in ipairs(redis.call('ZRANGE', KEYS[8], 0, -1)) do
    if not redis.call('ZSCORE', KEYS[2], id) then
      redis.call('ZREM', KEYS[8], id)
    end
  end
  if redis.call('ZCARD', KEYS[8]) >= tonumber(ARGV[14]) then
    return {'limit'}
  end
end
local arr = tonumber(ARGV[15]) + redis.call('INCR', KEYS[3]) % 64
local sid = redis.call('XADD', KEYS[5], '*', 'ticket_id', ARGV[1],
  'user', ARGV[3], 'session_id', ARGV[4], 'priority', ARGV[8],
  'level', ARGV[2], 'reason', ARGV[5], 'turns', ARGV[6],
  'created_at', ARGV[7])
trim(KEYS[5], tonumber(ARGV[13]))
redis.call('ZADD', KEYS[8], arr, ARGV[1])
redis.call('EXPIRE', KEYS[8], ARGV[10])
redis.call('HSET', KEYS[4], 'id', ARGV[1], 'user', ARGV[3],
  'session_id', ARGV[4], 'priority', ARGV[8], 'level', ARGV[2],
  'arrival', arr, 'reason', ARGV[5], 'turns', ARGV[6],
  'status', 'waiting', 'created_at', ARGV[7], 'stream_id', sid)
redis.call('EXPIRE', KEYS[4], ARGV[10])
local score = lv * 1125899906842624 + arr
redis.call('ZADD', KEYS[2], score, ARGV[1])
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[10])
redis.call('HINCRBY', KEYS[6], 'handoffs', 1)
redis.call('EXPIRE', KEYS[6], ARGV[9])
return {'created', ARGV[1], score, lv}
