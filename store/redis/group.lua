-- Reads a group, its open incident's header and, of the alert keys asked,
-- the records that incident holds, in one step, so that they belong to one
-- version.
--
-- KEYS[1] group hash; ARGV[1] the shard's hash tag; ARGV[2] the version
-- whose header the caller holds decoded already, or ""; ARGV[3..] alert
-- keys.
-- Returns {version, open incident ID, header, alert records...}: header is
-- "" when the caller holds that version's, false when the incident is
-- missing; an alert record is false when the incident lacks that alert.
local g = redis.call('HMGET', KEYS[1], 'v', 'o')
local version, open = g[1] or '0', g[2] or ''
if open == '' then
  return {version, ''}
end
local inc = ARGV[1] .. ':i:' .. open
local header = ''
if ARGV[2] ~= version then
  header = redis.call('HGET', inc, 'j')
end
local out = {version, open, header}
-- A thousand keys at a time: unpack has a limit.
local i = 3
while i <= #ARGV do
  local j = math.min(i + 999, #ARGV)
  local records = redis.call('HMGET', inc .. ':a', unpack(ARGV, i, j))
  for k = 1, #records do
    out[#out + 1] = records[k]
  end
  i = j + 1
end
return out
