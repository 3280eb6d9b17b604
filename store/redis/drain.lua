-- Takes up to ARGV[2] alerts of a closed incident out of its shard's
-- alert index, where commit.lua left the unindexing owed: an incident of
-- a storm holds 100,000 alerts, and a script holds the server while it
-- runs. Called again until it says that none is owed.
--
-- KEYS[1] shard hash T:ux: incident key -> "<HSCAN cursor> <group>"
-- KEYS[2] shard alert index hash T:alerts; KEYS[3] the incident's key
-- ARGV[1] shard hash tag; ARGV[2] how many alerts; ARGV[3] on a single
-- server the prefix of the alert entries outside the shard (P), which
-- the script deletes itself; "" on a cluster, where the caller does.
--
-- An alert leaves only if its entry names the group that closed the
-- incident, and the group's open incident, if any, does not hold it: it
-- may have moved to another group, or fired again in the group's next
-- incident, since. HSCAN returns each alert at least once, as the
-- closed incident's alerts no longer change.
--
-- Returns {1 while some is still owed else 0, {alert, value removed...}}:
-- the entries outside the shard for the caller to delete (cluster).
local owed = redis.call('HGET', KEYS[1], KEYS[3])
if not owed then
  return {0, {}}
end
local cursor, gkey = string.match(owed, '^(%S+) (.*)$')
if not cursor then
  redis.call('HDEL', KEYS[1], KEYS[3]) -- not a value commit.lua wrote
  return {0, {}}
end
local tag, prefix = ARGV[1], ARGV[3]
local open = redis.call('HGET', tag .. ':g:' .. gkey, 'o') or ''
local scan = redis.call('HSCAN', KEYS[3] .. ':a', cursor, 'COUNT', ARGV[2])
local alerts = {}
for i = 1, #scan[2], 2 do
  alerts[#alerts + 1] = scan[2][i]
end
local held = {}
if open ~= '' and #alerts > 0 then
  held = redis.call('HMGET', tag .. ':i:' .. open .. ':a', unpack(alerts))
end
local removed = {}
unindex(KEYS[2], alerts, gkey, held, removed, prefix)
if scan[1] == '0' then
  redis.call('HDEL', KEYS[1], KEYS[3])
  return {0, removed}
end
redis.call('HSET', KEYS[1], KEYS[3], scan[1] .. ' ' .. gkey)
return {1, removed}
