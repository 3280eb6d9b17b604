-- Records a callback once, whichever replica it reaches, and however
-- often this call is sent: go-redis sends a command again after its reply
-- was lost, and the call that recorded the callback must still hear that
-- it did. KEYS[1] the callback's key; ARGV[1] this call's nonce; ARGV[2]
-- when the record ends (ms since the epoch). Returns 1 when this call
-- recorded it, 0 when another did.
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], ARGV[1])
  redis.call('PEXPIREAT', KEYS[1], ARGV[2])
  return 1
end
if v == ARGV[1] then
  return 1
end
return 0
