-- POST RSVPs with a fresh email each: wrk ... -s bench/rsvps.lua URL -- TARGETS COOKIE CSRF_TOKEN
-- TARGETS is a file of "event_uuid timeslot_uuid" lines, used round-robin.
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

function init(args)
  targets = {}
  for line in io.lines(args[1]) do
    local event, slot = line:match("(%S+)%s+(%S+)")
    targets[#targets + 1] = {event, slot}
  end
  wrk.headers["Cookie"] = args[2]
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  token = args[3]
  prefix = "b" .. os.time() .. "t" .. id .. "n"
  n = 0
end

function request()
  n = n + 1
  local target = targets[(n % #targets) + 1]
  local body = "csrf_token=" .. token .. "&given_name=Bench&family_name=Rush&postal_code=10001" ..
    "&guests=" .. (n % 3) .. "&timeslots=" .. target[2] .. "&email=" .. prefix .. n .. "%40example.net"
  return wrk.format("POST", "/events/" .. target[1] .. "/rsvp", nil, body)
end

dofile("bench/report.lua")
