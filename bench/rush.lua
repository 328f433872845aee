-- (b) POST /api/tickets at one 20-seat show until it is sold out, then at the next.
--
-- Each wrk thread sends BENCH_PER_SHOW requests at a show before it moves on; with the
-- default 2 threads and 16 requests each, 32 requests meet every 20-seat show: 20 must
-- get 201 and 12 must get 409 sold_out, whatever the interleaving.
dofile(os.getenv("BENCH_DIR") .. "/common.lua")

local shows = env_ids("BENCH_SHOWS")
local per_show = tonumber(os.getenv("BENCH_PER_SHOW"))
local sent = 0

function request()
  local show = shows[math.floor(sent / per_show) % #shows + 1]
  sent = sent + 1
  return post("/api/tickets", string.format('{%s,"show":%d}', person_json(), show))
end
