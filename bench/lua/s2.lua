-- S2: GET /api/patients/:id with a token, on random ids of the caller's
-- patients.  args: a tokens file ("token<TAB>id id ..." per user).
dofile(os.getenv("BENCH_LUA") .. "/common.lua")
local users
function init(args)
   seed_random()
   users = tokens(args[1])
end
function request()
   local u = pick(users)
   return wrk.format("GET", "/api/patients/" .. pick(u.ids),
      { Authorization = u.auth })
end
