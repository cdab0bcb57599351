-- The under-attack scenario's flood: POST /api/auth/register, each time
-- with a fresh email, as fast as the connections go.  No args.  The emails
-- carry the thread, a counter and a random tag, so two runs (or two
-- threads) never send the same one: each request is a new registration,
-- not a 409 for a taken email.
dofile(os.getenv("BENCH_LUA") .. "/common.lua")
local tag, n
function init(args)
   seed_random()
   tag = string.format("%08x", math.random(0, 0x7fffffff))
   n = 0
end
function request()
   n = n + 1
   local body = string.format('{"name":"Flood %d","email":'
      .. '"flood-%s-%d-%d@example.org","password":"flood password %d"}',
      n, tag, tid or 0, n, n)
   return wrk.format("POST", "/api/auth/register",
      { ["Content-Type"] = "application/json" }, body)
end
