-- (d) GET /api/tickets?date=...&time=...: a staff door list, the first page of 50 rows.
dofile(os.getenv("BENCH_DIR") .. "/common.lua")

local path = string.format("/api/tickets?date=%s&time=%s", os.getenv("BENCH_DATE"), os.getenv("BENCH_TIME"))
local token = os.getenv("BENCH_TOKEN")

function request()
  return wrk.format("GET", path, {["Accept"] = "application/json", ["Authorization"] = "Token " .. token})
end
