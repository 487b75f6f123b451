#!lua
-- POST /v1/admin/loss-reports/<id>, in the slot of the bucket NN the
-- id names (the owner's): the back
-- office's change, as a compare-and-set.  The rules are checked in C
-- against the state read before (kefu_lr_change_ok); this applies the
-- change only if that state is still current.
--
-- KEYS[1]  the report                  kefu:{t#NN}:lr:<id>
-- KEYS[2]  frozen users (user -> n)    kefu:{t#NN}:frozen
-- KEYS[3]  index of all reports        kefu:{t#NN}:lr:ix
-- KEYS[4]  ... of the received ones    kefu:{t#NN}:lr:ix:received
-- KEYS[5]  ... processing              kefu:{t#NN}:lr:ix:processing
-- KEYS[6]  ... closed                  kefu:{t#NN}:lr:ix:closed
--
-- ARGV[1] expected status, ARGV[2] expected frozen, ARGV[3] new status,
-- ARGV[4] new frozen, ARGV[5] now.
--
-- The report moves to its status's index; a report older than the
-- indexes joins them here.  Returns {'not_found'}, {'stale'} or
-- {'ok', field, value, ...} (the report after the change).
local cur = redis.call('HMGET', KEYS[1], 'status', 'frozen', 'user',
  'created_at', 'id')
if not cur[1] then return {'not_found'} end
if cur[1] ~= ARGV[1] or cur[2] ~= ARGV[2] then return {'stale'} end
if ARGV[4] ~= cur[2] then
  if ARGV[4] == '1' then
    redis.call('HINCRBY', KEYS[2], cur[3], 1)
  elseif redis.call('HINCRBY', KEYS[2], cur[3], -1) <= 0 then
    redis.call('HDEL', KEYS[2], cur[3])
  end
end
redis.call('HSET', KEYS[1], 'status', ARGV[3], 'frozen', ARGV[4],
  'updated_at', ARGV[5])
local c = cur[4] or '0'
local m = string.rep('0', 12 - #c) .. c .. '.' .. (cur[5] or '')
local st = {received = 4, processing = 5, closed = 6}
redis.call('ZADD', KEYS[3], 0, m)
for i = 4, 6 do
  if i == st[ARGV[3]] then redis.call('ZADD', KEYS[i], 0, m)
  else redis.call('ZREM', KEYS[i], m) end
end
local all = redis.call('HGETALL', KEYS[1])
table.insert(all, 1, 'ok')
return all
