#!lua
-- POST /v1/admin/tickets/<id> (close), in the slot of the bucket NN the
-- id names (its user's).
--
-- KEYS[1]  the ticket                  kefu:{t#NN}:tk:<ticket_id>
-- KEYS[2]  the bucket's agents' queue  kefu:{t#NN}:agents:q
-- KEYS[3]  the session's open-ticket marker (built from ARGV[3], ARGV[4])
--          kefu:{t#NN}:agents:open:<len>:<user>:<session>
--
-- ARGV[1] ticket id, ARGV[2] now, ARGV[3] user and ARGV[4] session id as
-- read before.
--
-- Closing takes the ticket out of the queue (the desk may have popped it
-- already) and frees the session to ask for a human again, unless the
-- marker already names a newer ticket.  Returns {'not_found'},
-- {'closed'} (it was not waiting) or {'ok', field, value, ...} (the
-- ticket after the change).
local cur = redis.call('HMGET', KEYS[1], 'status', 'user', 'session_id')
if not cur[1] then return {'not_found'} end
if cur[2] ~= ARGV[3] or cur[3] ~= ARGV[4] then return {'not_found'} end
if cur[1] ~= 'waiting' then return {'closed'} end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[1], 'status', 'closed', 'closed_at', ARGV[2])
if redis.call('GET', KEYS[3]) == ARGV[1] then
  redis.call('DEL', KEYS[3])
end
local all = redis.call('HGETALL', KEYS[1])
table.insert(all, 1, 'ok')
return all
