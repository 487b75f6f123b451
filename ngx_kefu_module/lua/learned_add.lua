-- POST /v1/admin/kb/similar, and learn_auto_adopt's adoptions: adds a
-- learned question, in the tenant's slot.
--
-- KEYS[1]  the learned questions       kefu:{t}:learned
--          (id -> faq_id TAB key TAB question)
-- KEYS[2]  normalised key -> id        kefu:{t}:learned:keys
-- KEYS[3]  the version counter         kefu:{t}:learned:ver
-- KEYS[4]  (adoptions only) the dismissed questions  kefu:{t}:kb:dismissed
--
-- ARGV[1] the new id, ARGV[2] the normalised key (16 hex digits),
-- ARGV[3] the value, ARGV[4] the most learned questions (learned_max);
-- with KEYS[4]: ARGV[5] now, ARGV[6] the mark's expiry, ARGV[7] the
-- normalised question, ARGV[8] the dismissed set's cap.  An adopted
-- question is marked dismissed as kb_dismiss.lua marks it (same trim),
-- so that a trainer's later delete is not undone by the next adoption.
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
if KEYS[4] then
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', ARGV[5])
  redis.call('ZADD', KEYS[4], ARGV[6], ARGV[7])
  redis.call('ZREMRANGEBYRANK', KEYS[4], 0, -tonumber(ARGV[8]) - 1)
  redis.call('EXPIREAT', KEYS[4], ARGV[6])
end
return {'created', tostring(redis.call('INCR', KEYS[3]))}
