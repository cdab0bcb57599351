-- The memory step: cheap reads, alternately a doctor (public) and a patient
-- of the caller's (token, audit row), until BENCH_STOP_AFTER responses per
-- thread.  args: a tokens file, a doctor ids file.
dofile(os.getenv("BENCH_LUA") .. "/common.lua")
local users, doctors
local n = 0
function init(args)
   seed_random()
   users = tokens(args[1])
   doctors = lines(args[2])
end
function request()
   n = n + 1
   if n % 2 == 0 then
      return wrk.format("GET", "/api/doctors/" .. pick(doctors))
   end
   local u = pick(users)
   return wrk.format("GET", "/api/patients/" .. pick(u.ids),
      { Authorization = u.auth })
end
