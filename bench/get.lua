-- GET the URL given to wrk, with an optional header: wrk ... -s bench/get.lua URL -- "Name: value"
function init(args)
  if args[1] then
    local name, value = args[1]:match("^([^:]+):%s*(.*)$")
    wrk.headers[name] = value
  end
end
dofile("bench/report.lua")
