-- S1: GET /api/doctors/:id, public, on random ids.
-- args: a file of doctor ids, one a line.
dofile(os.getenv("BENCH_LUA") .. "/common.lua")
local ids
function init(args)
   seed_random()
   ids = lines(args[1])
end
function request()
   return wrk.format("GET", "/api/doctors/" .. pick(ids))
end
