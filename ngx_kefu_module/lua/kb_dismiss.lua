-- POST /v1/admin/kb/suggestions/dismiss, in the tenant's slot.
--
-- KEYS[1]  the tenant's dismissed      kefu:{t}:kb:dismissed
--          questions (scored by expiry)
--
-- ARGV[1] the normalised question, ARGV[2] now, ARGV[3] its expiry,
-- ARGV[4] the cap.
--
-- Expired members go, then the soonest to expire beyond the cap.
-- Returns 1.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -tonumber(ARGV[4]) - 1)
redis.call('EXPIREAT', KEYS[1], ARGV[3])
return 1
