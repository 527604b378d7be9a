-- wrk script (benchmarks/load.py): keep-alive connections, each closed and opened again
-- every so often, so the worker processes of a server share the connections the way
-- they share many clients' over time. The argument after `--` is how many requests a
-- wrk thread sends between two reconnects (of any of its connections).
local every, count, again, closing = 100, 0, nil, nil

function init(args)
  every = math.max(1, tonumber(args[1]) or every)
  again = wrk.format()
  wrk.headers["Connection"] = "close"
  closing = wrk.format()
end

function request()
  count = count + 1
  if count % every == 0 then
    return closing
  end
  return again
end
