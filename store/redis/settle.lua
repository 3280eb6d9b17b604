-- Forgets owed moves of a shard, each only while it is kept as given: a
-- move of the same alert from the same group made since stays owed.
--
-- KEYS[1] the shard's owed moves hash; ARGV pairs of field and value.
local n = 0
for i = 1, #ARGV, 2 do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then
    n = n + redis.call('HDEL', KEYS[1], ARGV[i])
  end
end
return n
