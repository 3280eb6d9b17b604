-- PutChange: stores one change of an integration and drops the oldest.
-- KEYS[1] the integration's changes (a sorted set of members of score 0,
-- each a changekey then the change's JSON), KEYS[2] its ID counter.
-- ARGV[1] the change's time (changekey.Time), ARGV[2] its JSON,
-- ARGV[3] the time before which changes are dropped (changekey.Time),
-- ARGV[4] how many it keeps, ARGV[5] how long (ms) both keys live after
-- the last put. KEYS[3], when given, names the change as its sender sent
-- it (its digest): it is set to the change's ID, for ARGV[6] ms, with
-- the change, and a change put while it holds one is that one, not
-- stored twice (ForgetChange deletes it once the sender was answered
-- 2xx). Returns the change's sequence number, its ID.
if KEYS[3] then
  local had = redis.call('GET', KEYS[3])
  if had then
    return tonumber(had)
  end
end
local seq = redis.call('INCR', KEYS[2])
redis.call('ZADD', KEYS[1], 0, ARGV[1] .. string.format('%020d', seq) .. ARGV[2])
redis.call('ZREMRANGEBYLEX', KEYS[1], '-', '(' .. ARGV[3])
local over = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[4])
if over > 0 then
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, over - 1)
end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
if KEYS[3] then
  redis.call('SET', KEYS[3], seq, 'PX', ARGV[6])
end
return seq
