-- POST /v1/admin/kb/similar: adds a learned question, in the tenant's slot.
--
-- KEYS[1]  the learned questions       kefu:{t}:learned
--          (id -> faq_id TAB key TAB question)
-- KEYS[2]  normalised key -> id        kefu:{t}:learned:keys
-- KEYS[3]  the version counter         kefu:{t}:learned:ver
--
-- ARGV[1] the new id, ARGV[2] the normalised key (16 hex digits),
-- ARGV[3] the value, ARGV[4] the most learned questions (learned_max).
--
-- Returns {'duplicate', id of the same key}, {'full', ''} or
-- {'created', the new version}.
if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 then
  return {'duplicate', redis.call('HGET', KEYS[2], ARGV[2])}
end
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[4]) then
  return {'full', ''}
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
return {'created', tostring(redis.call('INCR', KEYS[3]))}
