-- wrk script for Tests/bench/run.sh: one POST per request, each with a unique client message id.
--
--   wrk ... -s post.lua URL -- MODE TICKETS_FILE RUN_TAG THREADS
--
-- MODE durable: POST /api/tickets/{id}/messages with the ticket's Bearer token (expects 201).
-- MODE noop:    POST /api/bench/noop with the same headers and the same style of body (expects 200),
--               so the two runs differ only in what the server does with the message.
-- TICKETS_FILE: one "ticket-id token" per line. RUN_TAG makes the client ids of this run unique
-- across runs (a repeated id would be deduplicated by the server, not stored again).
-- done() prints one machine-readable "BENCH ..." line that bench.py reads; no response() callback,
-- because defining one makes wrk parse every response body and slows the load generator down.

local next_tid = 0

-- Runs in wrk's main Lua state, once per thread, before init(): number the threads.
function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
end

local tickets = {}
local mode, tag, nthreads
local counter = 0

function init(args)
  mode, tag, nthreads = args[1], args[3], tonumber(args[4])
  assert(mode == "durable" or mode == "noop", "MODE must be durable or noop")
  assert(tag and nthreads, "usage: -- MODE TICKETS_FILE RUN_TAG THREADS")
  for line in io.lines(args[2]) do
    local id, token = line:match("^(%S+)%s+(%S+)$")
    if id then
      tickets[#tickets + 1] = {
        path = mode == "durable" and ("/api/tickets/" .. id .. "/messages") or "/api/bench/noop",
        headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" },
      }
    end
  end
  assert(#tickets > 0, "no tickets in " .. args[2])
end

function request()
  -- Round robin over all tickets across threads: request n of thread t takes (n*T + t) mod N.
  local t = tickets[(counter * nthreads + tid) % #tickets + 1]
  counter = counter + 1
  local body = '{"id":"' .. tag .. "-" .. tid .. "-" .. counter .. '","text":"bench message"}'
  return wrk.format("POST", t.path, t.headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d status_errors=%d connect_errors=%d read_errors=%d write_errors=%d timeouts=%d p50_us=%.0f p99_us=%.0f\n",
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
