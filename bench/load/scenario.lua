-- wrk script for bench/load/run.sh: one static request per scenario, every response checked.
--
-- Environment (read once per thread):
--   BENCH_METHOD   GET or POST (default GET)
--   BENCH_BODY     request body (form-encoded; sets content-type when present)
--   BENCH_AUTH     full Authorization header value ("Basic ...", "Bearer ...")
--   BENCH_EXPECT   substring every successful response body must contain (optional)
--
-- A response counts as good only if its status is 2xx AND (when BENCH_EXPECT is set) its
-- body contains BENCH_EXPECT. Everything else is counted as bad and reported, so that
-- errors (401, 400, {"active":false}, ...) are never reported as throughput.
--
-- done() prints one machine-readable line:
--   BENCH_RESULT requests=N good=N bad=N non2xx=N mismatch=N sockerr=N duration_us=N
--                good_rps=F p50_us=N p99_us=N max_us=N first_bad=<status>:<body prefix>

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  wrk.method = os.getenv("BENCH_METHOD") or "GET"
  local body = os.getenv("BENCH_BODY")
  if body ~= nil and body ~= "" then
    wrk.body = body
    wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  end
  local auth = os.getenv("BENCH_AUTH")
  if auth ~= nil and auth ~= "" then
    wrk.headers["Authorization"] = auth
  end
  expect = os.getenv("BENCH_EXPECT")
  if expect == "" then
    expect = nil
  end
  good = 0
  non2xx = 0
  mismatch = 0
  first_bad = ""
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if first_bad == "" then
      first_bad = tostring(status) .. ":" .. string.sub(body or "", 1, 120)
    end
  elseif expect ~= nil and (body == nil or not string.find(body, expect, 1, true)) then
    mismatch = mismatch + 1
    if first_bad == "" then
      first_bad = tostring(status) .. ":" .. string.sub(body or "", 1, 120)
    end
  else
    good = good + 1
  end
end

function done(summary, latency, requests)
  local g, n, m, fb = 0, 0, 0, ""
  for _, t in ipairs(threads) do
    g = g + t:get("good")
    n = n + t:get("non2xx")
    m = m + t:get("mismatch")
    local b = t:get("first_bad")
    if fb == "" and b ~= nil then
      fb = b
    end
  end
  local e = summary.errors
  local sockerr = e.connect + e.read + e.write + e.timeout
  local secs = summary.duration / 1e6
  local bad = summary.requests - g
  fb = string.gsub(fb, "[\r\n\t ]", "_")
  io.write(string.format(
    "BENCH_RESULT requests=%d good=%d bad=%d non2xx=%d mismatch=%d sockerr=%d duration_us=%d good_rps=%.1f p50_us=%d p99_us=%d max_us=%d first_bad=%s\n",
    summary.requests, g, bad, n, m, sockerr, summary.duration, g / secs,
    latency:percentile(50), latency:percentile(99), latency.max, fb))
end
