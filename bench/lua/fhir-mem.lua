-- The memory step of --fhir: FHIR requests of every kind a worker serves,
-- in a fixed round of ten, until BENCH_STOP_AFTER responses per thread:
-- Patient reads of the caller's (token, audit row), searches (first pages,
-- by name), a page through an owner's next link (a cursor), Practitioner
-- read and search (public), a CareTeam, the CapabilityStatement.
-- args: a tokens file, a doctor ids file, an owner's token, a file of that
-- owner's FHIR next links.
dofile(os.getenv("BENCH_LUA") .. "/common.lua")
local users, doctors, owner, nexts
local n = 0
local FHIR = "application/fhir+json"
function init(args)
   seed_random()
   users = tokens(args[1])
   doctors = lines(args[2])
   owner = "Bearer " .. args[3]
   nexts = lines(args[4])
end
local function get(path, auth)
   return wrk.format("GET", path, { Authorization = auth, Accept = FHIR })
end
function request()
   n = n + 1
   local k = n % 10
   local u = pick(users)
   if k == 1 then
      return get("/fhir/R4/Patient?_count=20", u.auth)
   elseif k == 2 then
      return get("/fhir/R4/Practitioner/" .. pick(doctors))
   elseif k == 4 then
      return get(pick(nexts), owner)
   elseif k == 5 then
      return get("/fhir/R4/CareTeam?patient=" .. pick(u.ids), u.auth)
   elseif k == 7 then
      return get("/fhir/R4/Patient?name=patient&_count=10", u.auth)
   elseif k == 8 then
      return get("/fhir/R4/Practitioner?_count=20")
   elseif k == 9 then
      return get("/fhir/R4/metadata")
   end
   return get("/fhir/R4/Patient/" .. pick(u.ids), u.auth)
end
