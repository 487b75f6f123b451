-- wrk script: /v1/ask turns with session context (one Redis read and one
-- pipelined write per request), questions and sessions in rotation.
local token = os.getenv("KEFU_TOKEN")
local qs = {
    "蚁花怎么开通", "那怎么关闭呢", "提现多久到账", "手续费呢",
    "怎么还款", "转账失败怎么办", "我的手机丢了怎么办", "怎么提升额度",
}
local headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
}
local n = 0

function setup(thread)
    thread:set("tid", tostring(math.random(1, 1000000)))
end

request = function()
    n = n + 1
    local body = '{"question":"' .. qs[n % #qs + 1] .. '","session_id":"b'
                 .. (tid or "0") .. "-" .. (n % 500) .. '"}'
    return wrk.format("POST", nil, headers, body)
end
