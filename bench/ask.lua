-- wrk script: /v1/ask turns with session context (one Redis read and one
-- write per request), questions and sessions in rotation.  The requests
-- are built once per thread, so that the load generator spends its CPU
-- on sending them, not on Lua string work (the /ok baseline has none).
-- KEFU_TOKENS: a file of tokens, one a line: the turns rotate over those
-- users (a tenant's load comes from many users, spread over a cluster)
local tokens = {}
local file = os.getenv("KEFU_TOKENS")
if file then
    for line in io.lines(file) do
        tokens[#tokens + 1] = line
    end
else
    tokens[1] = os.getenv("KEFU_TOKEN")
end
local qs = {
    "蚁花怎么开通", "那怎么关闭呢", "提现多久到账", "手续费呢",
    "怎么还款", "转账失败怎么办", "我的手机丢了怎么办", "怎么提升额度",
}
local reqs = {}
local n = 0

function setup(thread)
    thread:set("tid", tostring(math.random(1, 1000000)))
end

function init(args)
    -- 8 questions x 500 sessions: 1000 distinct (question, session) turns;
    -- with KEFU_DISTINCT, 20000 turns whose questions all differ (a
    -- number after them), more than the server's search memo keeps
    local distinct = os.getenv("KEFU_DISTINCT")
    for i = 1, distinct and 20000 or 1000 do
        local q = qs[i % #qs + 1]
        if distinct then
            q = q .. " " .. tid .. "-" .. i
        end
        local body = '{"question":"' .. q .. '","session_id":"b'
                     .. (tid or "0") .. "-" .. (i % 500) .. '"}'
        local headers = {
            ["Content-Type"] = "application/json",
            ["Authorization"] = "Bearer " .. tokens[i % #tokens + 1],
        }
        reqs[i] = wrk.format("POST", nil, headers, body)
    end
end

request = function()
    n = n % #reqs + 1
    return reqs[n]
end
