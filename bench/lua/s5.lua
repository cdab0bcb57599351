-- S5: POST /api/auth/login, each time as a random one of many users.
-- args: a file of "email<TAB>password" lines.
dofile(os.getenv("BENCH_LUA") .. "/common.lua")
local bodies
function init(args)
   seed_random()
   bodies = {}
   for _, l in ipairs(lines(args[1])) do
      local email, pw = l:match("^([^\t]+)\t(.+)$")
      table.insert(bodies, string.format('{"email":"%s","password":"%s"}',
         email, pw))
   end
end
function request()
   return wrk.format("POST", "/api/auth/login",
      { ["Content-Type"] = "application/json" }, pick(bodies))
end
