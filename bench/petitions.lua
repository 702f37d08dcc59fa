-- POST signatures with a fresh email each, to the sign form or the record-signature API:
--   wrk ... -s bench/petitions.lua URL -- form PATH COOKIE CSRF_TOKEN STARTED
--   wrk ... -s bench/petitions.lua URL -- api PATH API_TOKEN
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

function init(args)
  mode, path = args[1], args[2]
  if mode == "form" then
    wrk.headers["Cookie"] = args[3]
    wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
    token, started = args[4], args[5]
  else
    wrk.headers["Content-Type"] = "application/json"
    wrk.headers["OSDI-API-Token"] = args[3]
  end
  prefix = "b" .. os.time() .. "t" .. id .. "n"
  n = 0
end

function request()
  n = n + 1
  local email = prefix .. n .. "@example.net"
  local body
  if mode == "form" then
    body = "csrf_token=" .. token .. "&started=" .. started .. "&given_name=Bench&family_name=Surge" ..
      "&postal_code=10001&country=US&email=" .. email:gsub("@", "%%40")
  else
    body = '{"person":{"given_name":"Bench","family_name":"Surge","email_addresses":[{"address":"' .. email ..
      '"}],"postal_addresses":[{"postal_code":"10001","country":"US"}]}}'
  end
  return wrk.format("POST", path, nil, body)
end

dofile("bench/report.lua")
