-- wrk script: POST /v1/events, batches of 10 events (ts = now), for
-- bench/suggest-bench.sh.  The token comes in KEFU_TOKEN.
local types = {
    "transfer_failed", "bill_due", "payment_failed", "login_new_device",
    "coupon_expiring", "limit_reached", "app_crash", "refund_requested",
    "withdraw_pending", "card_bind_failed",
}
local ev = {}
for i, t in ipairs(types) do
    ev[i] = '{"type":"' .. t .. '","attrs":{"n":' .. i .. ',"src":"bench"}}'
end

wrk.method = "POST"
wrk.body = '{"events":[' .. table.concat(ev, ",") .. ']}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("KEFU_TOKEN")
