-- The limits: GET a fixed path (nginx's return 200, the no-op responder).
-- args: path
dofile(os.getenv("BENCH_LUA") .. "/common.lua")
local req
function init(args)
   req = wrk.format("GET", args[1] or "/")
end
function request()
   return req
end
