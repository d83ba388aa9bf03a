-- wrk script: GET <path>, each request with the next token of a file (one per line; none: no header).
-- Usage: wrk -s wrk_tokens.lua URL -- <path> <tokens-file>
-- Prints one line "BENCH_JSON {...}" with counts and latency percentiles (µs).
local tokens = {}
local count = 0
local index = 0
local path = "/"

function init(args)
  path = args[1]
  if args[2] and args[2] ~= "" then
    local file = assert(io.open(args[2], "r"))
    for line in file:lines() do
      if #line > 0 then
        count = count + 1
        tokens[count] = "Bearer " .. line
      end
    end
    file:close()
  end
end

function request()
  if count == 0 then
    return wrk.format("GET", path)
  end
  index = index + 1
  if index > count then index = 1 end
  return wrk.format("GET", path, { ["Authorization"] = tokens[index] })
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "non2xx": %d, "connect": %d, "read": %d, ' ..
    '"write": %d, "timeout": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean))
end
