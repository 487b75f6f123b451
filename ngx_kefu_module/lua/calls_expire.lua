-- GET /v1/whoami: gives the caller's call counter its TTL, in the
-- user's slot (the counter is INCRed by a plain command before it).
--
-- KEYS[1]  the call counter            kefu:{t:u}:calls
--
-- ARGV[1] the TTL.
--
-- Returns EXPIRE's reply.
return redis.call('EXPIRE', KEYS[1], ARGV[1])
