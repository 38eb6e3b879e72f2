-- POST /api/partner-chat/123 with a fresh user id and client IP per request (the server trusts
-- X-Forwarded-For from 127.0.0.1 in the bench, so the per-IP limit sees many visitors).
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  thread_id = tid
end

request = function()
  counter = counter + 1
  local n = thread_id * 1000000 + counter
  local ip = string.format("10.%d.%d.%d", thread_id % 250, math.floor(counter / 250) % 250, counter % 250 + 1)
  local body = string.format('{"message":"How long does shipping to Germany take?","user_id":"bench-%d"}', n)
  return wrk.format("POST", "/api/partner-chat/123",
    { ["Content-Type"] = "application/json", ["X-Forwarded-For"] = ip }, body)
end

function done(summary, latency, requests)
  local errs = summary.errors
  io.write(string.format("non2xx_or_errors: status=%d connect=%d read=%d write=%d timeout=%d\n",
    errs.status, errs.connect, errs.read, errs.write, errs.timeout))
  io.write(string.format("requests_total: %d\n", summary.requests))
end
