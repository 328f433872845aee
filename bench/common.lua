-- Shared by the wrk scripts of bench/run.py (loaded with dofile from each of them).
--
-- Counts answers by status in every thread and prints one line at the end,
--   BENCH_JSON {"requests": ..., "duration_us": ..., "p50_us": ..., "p99_us": ..., ...}
-- which run.py reads. Each request comes from one of 1,000 client addresses
-- (X-Forwarded-For, trusted by the service as behind one proxy: NUM_PROXIES=1), as a
-- crowd of customers would, so the per-client throttle and hold limit see many clients.

local threads = {}
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_id", thread_count)
  table.insert(threads, thread)
end

statuses = {}
extra = {}

function count(status)
  statuses[status] = (statuses[status] or 0) + 1
end

function bump(name)
  extra[name] = (extra[name] or 0) + 1
end

function init(args)
  math.randomseed(os.time() * 1000 + (thread_id or 0))
  math.random(); math.random()
end

-- A comma-separated list of integers from the environment.
function env_ids(name)
  local ids = {}
  for id in string.gmatch(os.getenv(name) or "", "%d+") do
    table.insert(ids, tonumber(id))
  end
  assert(#ids > 0, name .. " is empty")
  return ids
end

function client_headers()
  return {
    ["Accept"] = "application/json",
    ["Content-Type"] = "application/json",
    ["X-Forwarded-For"] = string.format("10.0.%d.%d", math.random(0, 3), math.random(1, 250)),
  }
end

-- A new customer each time: a booking rush is many people, not one.
function person_json()
  return string.format('"name":"Bench Customer %d","phone_number":"+9198%08d"',
    math.random(1, 999999), math.random(0, 99999999))
end

function post(path, body)
  return wrk.format("POST", path, client_headers(), body)
end

local shown = 0

-- The first few unexpected answers of each thread go to stderr, for run.py to show.
function report_unexpected(status, body)
  if shown < 3 and (status < 200 or status >= 300) and status ~= 409 then
    shown = shown + 1
    io.stderr:write(string.format("unexpected %d: %s\n", status, string.sub(body or "", 1, 300)))
  end
end

function response(status, headers, body)
  count(status)
  report_unexpected(status, body)
end

local function json_counts(t)
  local parts = {}
  for key, n in pairs(t) do
    table.insert(parts, string.format('"%s":%d', tostring(key), n))
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

function done(summary, latency, requests)
  local merged, merged_extra = {}, {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses") or {}) do
      merged[status] = (merged[status] or 0) + n
    end
    for name, n in pairs(thread:get("extra") or {}) do
      merged_extra[name] = (merged_extra[name] or 0) + n
    end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p95_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},"statuses":%s,"extra":%s}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(95), latency:percentile(99), latency.max, e.connect, e.read, e.write, e.timeout,
    json_counts(merged), json_counts(merged_extra)))
end
