-- Functions the scripts share, put before each (see scripts.go).

-- bulk runs cmd on key with ARGV[from..to], a thousand at a time (an even
-- number, so that field/value pairs stay whole): unpack has a limit. With
-- out, it appends each call's replies to out, and returns it.
local function bulk(cmd, key, from, to, out)
  local i = from
  while i <= to do
    local j = math.min(i + 999, to)
    local reply = redis.call(cmd, key, unpack(ARGV, i, j))
    if out then
      for k = 1, #reply do
        out[#out + 1] = reply[k]
      end
    end
    i = j + 1
  end
  return out
end

-- unindex takes alerts (at most a thousand: unpack has a limit) out of the
-- shard's alert index hash, each whose entry there names group gkey and
-- that held (the replies of an HMGET of the group's open incident's
-- alerts, or {}) does not have: it may have moved to another group, or
-- fired again in the group's next incident. It appends to removed each
-- alert and the value removed, for the caller to delete the alert's entry
-- outside the shard; with prefix, the server's prefix on a single server,
-- it deletes that entry itself, if it holds that value.
local function unindex(index, alerts, gkey, held, removed, prefix)
  if #alerts == 0 then
    return
  end
  local curs = redis.call('HMGET', index, unpack(alerts))
  local gone = {}
  for k, cur in ipairs(curs) do
    if cur and not held[k] and string.match(cur, '^%S+ (.*)$') == gkey then
      gone[#gone + 1] = alerts[k]
      if prefix == '' then
        removed[#removed + 1] = alerts[k]
        removed[#removed + 1] = cur
      elseif redis.call('GET', prefix .. ':a:' .. alerts[k]) == cur then
        redis.call('DEL', prefix .. ':a:' .. alerts[k])
      end
    end
  end
  if #gone > 0 then
    redis.call('HDEL', index, unpack(gone))
  end
end
