-- bulk runs cmd on key with ARGV[from..to], a thousand at a time (an even
-- number, so that field/value pairs stay whole): unpack has a limit. It is
-- put before the scripts that use it.
local function bulk(cmd, key, from, to)
  local i = from
  while i <= to do
    local j = math.min(i + 999, to)
    redis.call(cmd, key, unpack(ARGV, i, j))
    i = j + 1
  end
end

