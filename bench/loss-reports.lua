-- wrk script: a new loss report per request.  Its Idempotency-Key is
-- KEFU_KEY_PREFIX, the thread and a counter (nothing repeats within a
-- run; give each run its own prefix); the users of KEFU_TOKENS (a file
-- of tokens, one a line) take turns.
local nthreads = 0
function setup(thread)
    nthreads = nthreads + 1
    thread:set("tid", nthreads)
end

local prefix = os.getenv("KEFU_KEY_PREFIX") or "lr"
local tokens = {}
for line in io.lines(os.getenv("KEFU_TOKENS")) do
    tokens[#tokens + 1] = "Bearer " .. line
end

local n = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"kind":"phone","reason":"lost"}'

request = function()
    n = n + 1
    wrk.headers["Authorization"] = tokens[n % #tokens + 1]
    wrk.headers["Idempotency-Key"] = prefix .. "-" .. tid .. "-" .. n
    return wrk.format()
end
