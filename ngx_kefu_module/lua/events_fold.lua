#!lua
-- POST /v1/events: swaps the summary's oldest records for their fold,
-- in the user's slot, only if the list's tail is still what was read
-- (concurrent folds: one wins, the others do nothing).
--
-- KEYS[1]  the trail's summary         kefu:{t:u}:tsum
--
-- ARGV[1] the number of records folded (the list's tail), ARGV[2] the
-- oldest of them as read, ARGV[3] the fold.
--
-- Returns 1 if swapped, else 0.
local m, len = tonumber(ARGV[1]), redis.call('LLEN', KEYS[1])
if len < m or redis.call('LINDEX', KEYS[1], -1) ~= ARGV[2] then
  return 0
end
redis.call('LTRIM', KEYS[1], 0, len - m - 1)
redis.call('RPUSH', KEYS[1], ARGV[3])
return 1
