#!lua
-- POST /v1/loss-reports, in the slot of the user's bucket NN (the
-- report's id starts with NN).
--
-- KEYS[1]  idempotency record          kefu:{t#NN}:lr:idem:<len>:<user>:<key>
-- KEYS[2]  the report                  kefu:{t#NN}:lr:<id>
-- KEYS[3]  frozen users (user -> n)    kefu:{t#NN}:frozen
-- KEYS[4]  reports stream              kefu:{t#NN}:reports
-- KEYS[5]  police stream               kefu:{t#NN}:police
-- KEYS[6]  the bucket's day hash       kefu:{t#NN}:d:YYYYMMDD
-- KEYS[7]  back office's index of all  kefu:{t#NN}:lr:ix
-- KEYS[8]  ... of the received ones    kefu:{t#NN}:lr:ix:received
-- KEYS[9]  the user's reports of the   kefu:{t#NN}:lr:n:YYYYMMDD:<len>:<user>
--          day (a count)
--
-- ARGV[1] fingerprint, ARGV[2] id, ARGV[3] user, ARGV[4] kind,
-- ARGV[5] reason, ARGV[6] card_last4, ARGV[7] police_report (0/1),
-- ARGV[8] note, ARGV[9] now, ARGV[10] idempotency TTL, ARGV[11] day TTL,
-- ARGV[12] idempotency key, ARGV[13] tenant, ARGV[14] index member,
-- ARGV[15] loss_reports_per_day.
--
-- Returns {'replay', id}, {'conflict', id}, {'exists', id},
-- {'limit', ''} or {'created', stream id}.
--
-- A replay answers whatever the count; a new report past the user's
-- quota of the day is refused ('limit'): the records live as long as the
-- back office keeps them, so their number is bounded here.  Reads and
-- checks come first: nothing is written unless everything is.  "#!lua"
-- makes Redis refuse the whole script up front when it is out of
-- memory.  A replay writes a counter: WAIT then covers this connection's
-- write, which comes after the report's, so the replicas that have it
-- have the report too.
local prev = redis.call('HMGET', KEYS[1], 'fp', 'id')
if prev[1] then
  if prev[1] == ARGV[1] then
    redis.call('HINCRBY', KEYS[1], 'replays', 1)
    return {'replay', prev[2]}
  end
  return {'conflict', prev[2]}
end
if redis.call('EXISTS', KEYS[2]) == 1 then return {'exists', ARGV[2]} end
if tonumber(redis.call('GET', KEYS[9]) or '0') >= tonumber(ARGV[15]) then
  return {'limit', ''}
end
local ev = {'event', 'created', 'id', ARGV[2], 'user', ARGV[3],
  'kind', ARGV[4], 'reason', ARGV[5], 'police_report', ARGV[7],
  'created_at', ARGV[9]}
local rec = {'id', ARGV[2], 'tenant', ARGV[13], 'user', ARGV[3],
  'kind', ARGV[4], 'reason', ARGV[5], 'status', 'received',
  'frozen', '1', 'police_report', ARGV[7], 'created_at', ARGV[9],
  'updated_at', ARGV[9], 'idempotency_key', ARGV[12]}
if ARGV[6] ~= '' then
  ev[#ev + 1] = 'card_last4'; ev[#ev + 1] = ARGV[6]
  rec[#rec + 1] = 'card_last4'; rec[#rec + 1] = ARGV[6]
end
if ARGV[8] ~= '' then
  ev[#ev + 1] = 'note'; ev[#ev + 1] = ARGV[8]
  rec[#rec + 1] = 'note'; rec[#rec + 1] = ARGV[8]
end
local sid = redis.call('XADD', KEYS[4], '*', unpack(ev))
rec[#rec + 1] = 'stream_id'; rec[#rec + 1] = sid
if ARGV[7] == '1' then
  rec[#rec + 1] = 'police_stream_id'
  rec[#rec + 1] = redis.call('XADD', KEYS[5], '*', unpack(ev))
  redis.call('HINCRBY', KEYS[6], 'police_reports', 1)
end
redis.call('HSET', KEYS[2], unpack(rec))
redis.call('HINCRBY', KEYS[3], ARGV[3], 1)
redis.call('HSET', KEYS[1], 'fp', ARGV[1], 'id', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[10])
redis.call('ZADD', KEYS[7], 0, ARGV[14])
redis.call('ZADD', KEYS[8], 0, ARGV[14])
redis.call('HINCRBY', KEYS[6], 'loss_reports', 1)
redis.call('EXPIRE', KEYS[6], ARGV[11])
redis.call('INCR', KEYS[9])
redis.call('EXPIRE', KEYS[9], 172800)
return {'created', sid}
