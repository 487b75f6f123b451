-- The worker's counter sums (ngx_http_kefu_tally.c), one tenant per
-- call, in the tenant's slot.
--
-- KEYS[1..n]  the tenant's keys: the   kefu:{t}:d:YYYYMMDD,
--             day hash, the day's top  kefu:{t}:d:YYYYMMDD:q / :u / :c / :p,
--             lists, the hot counters  kefu:{t}:hot:<start>
--
-- ARGV: per key (3 each, in KEYS' order) its TTL, "o" (set once, the
-- day's counters) or "r" (refreshed, the hot generation), and the most
-- members it keeps (0: no limit; the day's top and unanswered questions:
-- the lowest counts go); then per sum (4 each) the key's index, "h"
-- (HINCRBY) or "z" (ZINCRBY), the field or member and the increment.
--
-- A member taken back to 0 or below (feedback changed its verdict)
-- leaves its sorted set.  Returns the number of keys.
local n = #KEYS
for i = 3 * n + 1, #ARGV, 4 do
  local k = KEYS[tonumber(ARGV[i])]
  if ARGV[i + 1] == 'h' then
    redis.call('HINCRBY', k, ARGV[i + 2], ARGV[i + 3])
  elseif tonumber(redis.call('ZINCRBY', k, ARGV[i + 3], ARGV[i + 2]))
         <= 0 then
    redis.call('ZREM', k, ARGV[i + 2])
  end
end
for i = 1, n do
  local a = 3 * i - 2
  if ARGV[a + 1] == 'r' or redis.call('TTL', KEYS[i]) < 0 then
    redis.call('EXPIRE', KEYS[i], ARGV[a])
  end
  local cap = tonumber(ARGV[a + 2])
  if cap > 0 and redis.call('ZCARD', KEYS[i]) > cap then
    redis.call('ZREMRANGEBYRANK', KEYS[i], 0, -cap - 1)
  end
end
return n
