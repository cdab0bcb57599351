-- S4: one list page through a "next" link taken at a random depth.
-- args: token, a file of paths (the Link rel="next" targets, or a FHIR
-- Bundle's next links), optionally an Accept header.
dofile(os.getenv("BENCH_LUA") .. "/common.lua")
local auth, paths, accept
function init(args)
   seed_random()
   auth = "Bearer " .. args[1]
   paths = lines(args[2])
   accept = args[3]
end
function request()
   return wrk.format("GET", pick(paths),
      { Authorization = auth, Accept = accept })
end
