-- (g), beside the staff list: the door scanning tickets of the door-list show,
-- POST /api/tickets/{id}/check-in, and the undo, DELETE on the same URL (staff token).
--
-- Round after round over the show's tickets (BENCH_TICKETS, comma-separated ids): a round
-- of undos, then a round of check-ins. Undoing a ticket that is not checked in is a
-- plain 200, so a run may start where an earlier one stopped; a check-in and the undo of
-- the same ticket are a whole round (200 requests) apart, never in flight together.
-- Run it with one wrk thread (-t1): the threads would otherwise share the tickets.
dofile(os.getenv("BENCH_DIR") .. "/common.lua")

local tickets = {}
for id in string.gmatch(os.getenv("BENCH_TICKETS") or "", "[^,]+") do
  table.insert(tickets, id)
end
assert(#tickets > 0, "BENCH_TICKETS is empty")
local headers = {["Accept"] = "application/json", ["Authorization"] = "Token " .. os.getenv("BENCH_TOKEN")}
local sent = 0

function request()
  local id = tickets[sent % #tickets + 1]
  local method = (math.floor(sent / #tickets) % 2 == 0) and "DELETE" or "POST"
  sent = sent + 1
  return wrk.format(method, "/api/tickets/" .. id .. "/check-in", headers)
end
