#!lua
-- POST /v1/events: the batch and its summary record, in the user's slot.
--
-- KEYS[1]  the trail (events, newest   kefu:{t:u}:trail
--          first)
-- KEYS[2]  the trail's summary         kefu:{t:u}:tsum
--
-- ARGV[1] trail_max, ARGV[2] trail_ttl, ARGV[3] the summary record,
-- ARGV[4] the summary's hard cap (NGX_HTTP_KEFU_SUM_HARD), then ARGV[5..]
-- the events as stored (kefu_event_encode()).
--
-- Returns the summary's length (the caller folds it when it has grown).
redis.call('LPUSH', KEYS[1], unpack(ARGV, 5))
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[1]) - 1)
redis.call('EXPIRE', KEYS[1], ARGV[2])
local n = redis.call('LPUSH', KEYS[2], ARGV[3])
if n > tonumber(ARGV[4]) then
  redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[4]) - 1)
end
redis.call('EXPIRE', KEYS[2], ARGV[2])
return n
