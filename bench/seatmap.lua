-- (h) GET /api/shows/{id}/seats: the seat map of one of (a)'s 300-seat shows, every seat
-- with its status, category and kind (anonymous; version 2 only).
dofile(os.getenv("BENCH_DIR") .. "/common.lua")

local shows = env_ids("BENCH_SHOWS")

function request()
  local show = shows[math.random(1, #shows)]
  return wrk.format("GET", string.format("/api/shows/%d/seats", show), client_headers())
end
