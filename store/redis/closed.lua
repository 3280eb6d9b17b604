-- Reads what a group's last closed incident keeps of alert keys.
--
-- KEYS[1] group hash; ARGV[1] the shard's hash tag; ARGV[2..] alert keys.
-- Returns {} when the group closed no incident, else the records, each
-- false where the incident lacks that alert.
local id = redis.call('HGET', KEYS[1], 'l')
if not id then
  return {}
end
local alerts = ARGV[1] .. ':i:' .. id .. ':a'
local out = {}
-- A thousand keys at a time: unpack has a limit.
local i = 2
while i <= #ARGV do
  local j = math.min(i + 999, #ARGV)
  local records = redis.call('HMGET', alerts, unpack(ARGV, i, j))
  for k = 1, #records do
    out[#out + 1] = records[k]
  end
  i = j + 1
end
return out
