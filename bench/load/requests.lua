-- wrk script for the load benchmark: cycles through precomputed requests, one per line of $BENCH_REQUESTS:
--   path <TAB> body <TAB> header: value <TAB> header: value ...
-- Each thread takes every n-th line, so no two connections send the same signed request. A thread that runs out of
-- lines starts over (the server would see replays); done() reports that as "wrapped" so the run can be discarded.
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  local file = os.getenv("BENCH_REQUESTS")
  local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
  reqs = {}
  local line_no = 0
  for line in io.lines(file) do
    if line_no % nthreads == tid then
      local fields = {}
      for field in string.gmatch(line, "[^\t]+") do fields[#fields + 1] = field end
      local headers = {}
      for i = 3, #fields do
        local name, value = string.match(fields[i], "^([^:]+): (.*)$")
        headers[name] = value
      end
      reqs[#reqs + 1] = wrk.format("POST", fields[1], headers, fields[2])
    end
    line_no = line_no + 1
  end
  position = 0
  wrapped = 0
end

function request()
  position = position + 1
  if position > #reqs then
    position = 1
    wrapped = wrapped + 1
  end
  return reqs[position]
end

function done(summary, latency, requests)
  local wraps = 0
  for _, thread in ipairs(threads) do wraps = wraps + (thread:get("wrapped") or 0) end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f,"wrapped":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean, wraps))
end
