-- bulk runs cmd on key with ARGV[from..to], a thousand at a time (an even
-- number, so that field/value pairs stay whole): unpack has a limit. With
-- out, it appends each call's replies to out, and returns it. It is put
-- before the scripts that use it.
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
