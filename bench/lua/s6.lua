-- S6: a mixed workload of many users: 70% reads (50% a patient of the
-- caller's, 20% a doctor), 20% writes (10% new patients, 10% PATCH of a
-- patient of the caller's; a target without PATCH gets creates instead),
-- 10% the first list page of the caller's patients.
-- args: a tokens file, a doctor ids file, 1 when the target takes PATCH.
dofile(os.getenv("BENCH_LUA") .. "/common.lua")
local users, doctors, patch
function init(args)
   seed_random()
   users = tokens(args[1])
   doctors = lines(args[2])
   patch = args[3] == "1"
end
local json = { ["Content-Type"] = "application/json" }
function request()
   local u = pick(users)
   local r = math.random(100)
   if r <= 50 then
      return wrk.format("GET", "/api/patients/" .. pick(u.ids),
         { Authorization = u.auth })
   elseif r <= 70 then
      return wrk.format("GET", "/api/doctors/" .. pick(doctors))
   elseif r <= 80 or (r <= 90 and not patch) then
      return wrk.format("POST", "/api/patients", { Authorization = u.auth,
         ["Content-Type"] = "application/json" },
         string.format('{"name":"Mixed Patient %d","age":%d}',
            math.random(1000000), math.random(0, 99)))
   elseif r <= 90 then
      return wrk.format("PATCH", "/api/patients/" .. pick(u.ids),
         { Authorization = u.auth, ["Content-Type"] = "application/json" },
         string.format('{"address":"%d Mixed Street"}', math.random(1000)))
   else
      return wrk.format("GET", "/api/patients?limit=20",
         { Authorization = u.auth })
   end
end
