-- (c) GET /api/shows?date=...: the availability search of one day (anonymous).
dofile(os.getenv("BENCH_DIR") .. "/common.lua")

local path = "/api/shows?date=" .. os.getenv("BENCH_DATE")

function request()
  return wrk.format("GET", path, client_headers())
end
