-- POST /v1/ask: a turn's write, in the user's Cluster slot.
--
-- KEYS[1]  the session                 kefu:{t:u}:s:<session_id>
-- KEYS[2]  the recently asked FAQs of  kefu:{t:u}:asked
--          猜你关心 (32 kept)
-- KEYS[3]  the hashes of the           kefu:{t:u}:uq:YYYYMMDD
--          unanswered questions this
--          user added today
-- KEYS[4]  the hashes of the tapped    kefu:{t:u}:lp
--          pairs (question -> FAQ,
--          kefu_tap.h) this user counted
--
-- ARGV[1]  the session as read or last written ("" for none)
-- ARGV[2]  the new session             ARGV[3]  its TTL
-- ARGV[4]  the answered FAQ or ""      ARGV[5]  now
-- ARGV[6]  the asked set's TTL
-- ARGV[7]  the unanswered question's hash or ""
-- ARGV[8]  how many one user may add a day (unanswered_per_user)
-- ARGV[9]  that set's TTL
-- ARGV[10] the turn's pair hash or ""  ARGV[11] that set's cap
-- ARGV[12] its TTL
--
-- Returns 1 (written; the question, if any, counts among the day's
-- unanswered or clarified), 2 (written; it does not: already counted for
-- this user today, or the user's quota is spent), plus 4 when the pair
-- counts (the user's first tap of it), or the stored session ("" for
-- none) when it is not ARGV[1]: nothing is written then.
local cur = redis.call('GET', KEYS[1]) or ''
if cur ~= ARGV[1] then
  return cur
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
if ARGV[4] ~= '' then
  redis.call('ZADD', KEYS[2], ARGV[5], ARGV[4])
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -33)
  redis.call('EXPIRE', KEYS[2], ARGV[6])
end
local p = 0
if ARGV[10] ~= '' and redis.call('SISMEMBER', KEYS[4], ARGV[10]) == 0
   and redis.call('SCARD', KEYS[4]) < tonumber(ARGV[11]) then
  redis.call('SADD', KEYS[4], ARGV[10])
  redis.call('EXPIRE', KEYS[4], ARGV[12])
  p = 4
end
if ARGV[7] == '' then
  return 1 + p
end
if redis.call('SISMEMBER', KEYS[3], ARGV[7]) == 1
   or redis.call('SCARD', KEYS[3]) >= tonumber(ARGV[8]) then
  return 2 + p
end
redis.call('SADD', KEYS[3], ARGV[7])
redis.call('EXPIRE', KEYS[3], ARGV[9])
return 1 + p
