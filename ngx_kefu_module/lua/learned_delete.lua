-- DELETE /v1/admin/kb/similar/<id>, in the tenant's slot.
--
-- KEYS[1]  the learned questions       kefu:{t}:learned
-- KEYS[2]  normalised key -> id        kefu:{t}:learned:keys
-- KEYS[3]  the version counter         kefu:{t}:learned:ver
--
-- ARGV[1] the id.
--
-- Returns 0 (no such id) or 1 (deleted, version bumped).
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return 0 end
local k = string.match(v, '^[^\t]*\t([^\t]*)\t')
redis.call('HDEL', KEYS[1], ARGV[1])
if k then redis.call('HDEL', KEYS[2], k) end
redis.call('INCR', KEYS[3])
return 1
