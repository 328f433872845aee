-- (e) POST /api/holds for one seat, then POST /api/bookings with that hold's id.
--
-- A thread's connections share its Lua state: each hold id read from a 201 goes into a
-- queue, and the next request of any connection of the thread confirms it. So about half
-- the requests are holds and half are confirms; "confirmed" counts finished bookings.
dofile(os.getenv("BENCH_DIR") .. "/common.lua")

local shows = env_ids("BENCH_SHOWS")
local held = {}

function request()
  local hold = table.remove(held)
  if hold then
    return post("/api/bookings", string.format('{%s,"hold":"%s"}', person_json(), hold))
  end
  local show = shows[math.random(1, #shows)]
  return post("/api/holds", string.format('{"show":%d,"quantity":1}', show))
end

function response(status, headers, body)
  count(status)
  report_unexpected(status, body)
  if status == 201 then
    local hold = string.match(body, '^{"id":"([%x%-]+)"')
    if hold then
      bump("held")
      table.insert(held, hold)
    else
      bump("confirmed")
    end
  end
end
