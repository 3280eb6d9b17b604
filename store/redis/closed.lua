-- Reads what a group's last closed incident keeps of alert keys.
--
-- KEYS[1] group hash; ARGV[1] the shard's hash tag; ARGV[2..] alert keys.
-- Returns {} when the group closed no incident, else its ID then the
-- records, each false where the incident lacks that alert.
local id = redis.call('HGET', KEYS[1], 'l')
if not id then
  return {}
end
return bulk('HMGET', ARGV[1] .. ':i:' .. id .. ':a', 2, #ARGV, {id})
