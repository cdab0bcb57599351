-- S3: POST /api/patients with a token (random users).
-- args: a tokens file.
dofile(os.getenv("BENCH_LUA") .. "/common.lua")
local users
local genders = { "male", "female", "other", "unknown" }
function init(args)
   seed_random()
   users = tokens(args[1])
end
function request()
   local u = pick(users)
   local body = string.format('{"name":"Bench Patient %d","age":%d,'
      .. '"gender":"%s","address":"%d Bench Street"}', math.random(1000000),
      math.random(0, 99), pick(genders), math.random(1000))
   return wrk.format("POST", "/api/patients", { Authorization = u.auth,
      ["Content-Type"] = "application/json" }, body)
end
