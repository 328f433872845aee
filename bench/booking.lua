-- (a) POST /api/tickets: one ticket, lowest free seat, at a random one of 40 shows.
dofile(os.getenv("BENCH_DIR") .. "/common.lua")

local shows = env_ids("BENCH_SHOWS")

function request()
  local show = shows[math.random(1, #shows)]
  return post("/api/tickets", string.format('{%s,"show":%d}', person_json(), show))
end
