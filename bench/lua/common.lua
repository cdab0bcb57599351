-- What every scenario script of script/bench shares: it loads this first
-- (dofile), then defines init(args) and request().  Counts responses that
-- are not 2xx per thread, stops a thread after BENCH_STOP_AFTER responses
-- when that is set (the memory step; it then creates
-- $BENCH_STOP_FILE.<thread>), and prints one line that script/bench
-- parses:
--   BENCH requests=N duration_us=N p50_us=N p99_us=N connect=N read=N
--         write=N timeout=N non2xx=N codes=401:3,404:1
local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("tid", #threads)
end

non2xx = 0
codes = {}
seen = 0
local stop_after = tonumber(os.getenv("BENCH_STOP_AFTER") or "")

function response(status, headers, body)
   if status < 200 or status > 299 then
      non2xx = non2xx + 1
      codes[status] = (codes[status] or 0) + 1
      codes_text_value = codes_text()
   end
   if stop_after then
      seen = seen + 1
      if seen == stop_after then
         -- wrk's main thread sleeps for -d whatever its threads do:
         -- tell script/bench, which interrupts it.
         local f = io.open(os.getenv("BENCH_STOP_FILE") .. "." .. tid, "w")
         if f then f:close() end
         wrk.thread:stop()
      end
   end
end

-- The per-thread summary of codes as text: tables do not cross threads.
function codes_text()
   local t = {}
   for k, v in pairs(codes) do
      table.insert(t, k .. ":" .. v)
   end
   return table.concat(t, ",")
end

function seed_random()
   math.randomseed(os.time() * 1000 + (tid or 0) * 7919)
   for i = 1, 10 do math.random() end
end

-- lines(path): the file's lines, dying when it is missing or empty.
function lines(path)
   local t = {}
   local f = assert(io.open(path, "r"), "cannot open " .. tostring(path))
   for l in f:lines() do
      if l ~= "" then table.insert(t, l) end
   end
   f:close()
   assert(#t > 0, path .. " is empty")
   return t
end

-- tokens(path): { {token = "...", ids = {1, 2}} } from "token<TAB>id id ..."
function tokens(path)
   local t = {}
   for _, l in ipairs(lines(path)) do
      local tok, rest = l:match("^(%S+)\t?(.*)$")
      local ids = {}
      for id in rest:gmatch("%d+") do table.insert(ids, id) end
      table.insert(t, { token = tok, auth = "Bearer " .. tok, ids = ids })
   end
   return t
end

function pick(t)
   return t[math.random(#t)]
end

function done(summary, latency, requests)
   local n, c = 0, {}
   for _, t in ipairs(threads) do
      n = n + (t:get("non2xx") or 0)
      local s = t:get("codes_text_value")
      if s and s ~= "" then table.insert(c, s) end
   end
   local e = summary.errors
   io.write(string.format("BENCH requests=%d duration_us=%d p50_us=%d "
      .. "p99_us=%d connect=%d read=%d write=%d timeout=%d non2xx=%d "
      .. "codes=%s\n", summary.requests, summary.duration,
      latency:percentile(50), latency:percentile(99), e.connect, e.read,
      e.write, e.timeout, n, table.concat(c, ",")))
end
