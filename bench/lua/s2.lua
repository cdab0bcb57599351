-- S2: GET /api/patients/:id with a token, on random ids of the caller's
-- patients.  args: a tokens file ("token<TAB>id id ..." per user); then,
-- optionally, the path before the id (--fhir reads the same patients as
-- /fhir/R4/Patient/:id) and an Accept header.
dofile(os.getenv("BENCH_LUA") .. "/common.lua")
local users, prefix, accept
function init(args)
   seed_random()
   users = tokens(args[1])
   prefix = args[2] or "/api/patients/"
   accept = args[3]
end
function request()
   local u = pick(users)
   return wrk.format("GET", prefix .. pick(u.ids),
      { Authorization = u.auth, Accept = accept })
end
