-- PATCH: PATCH /api/patients/:id without If-Match (a write that always
-- goes through) on a random one of the caller's patients, many users.
-- args: a tokens file ("token<TAB>id id ..." per user).
dofile(os.getenv("BENCH_LUA") .. "/common.lua")
local users
function init(args)
   seed_random()
   users = tokens(args[1])
end
function request()
   local u = pick(users)
   return wrk.format("PATCH", "/api/patients/" .. pick(u.ids),
      { Authorization = u.auth, ["Content-Type"] = "application/json" },
      string.format('{"address":"%d Patch Street","age":%d}',
         math.random(1000), math.random(0, 99)))
end
